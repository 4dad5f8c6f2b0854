using System.Globalization;

namespace GptAspire.Api.Services.Tools;

/// <summary>
/// Exact arithmetic on a short expression: decimal numbers, <c>+ - * / %</c>, <c>^</c> with a whole exponent,
/// parentheses and signs. It is parsed (recursive descent over the grammar below), never evaluated as code, and
/// bounded in length and depth, so any input is safe; input it cannot compute is a <see cref="ToolInputException"/>.
/// <code>
/// sum     = product { ("+" | "-") product }
/// product = unary { ("*" | "/" | "%") unary }
/// unary   = ("+" | "-") unary | power
/// power   = atom [ "^" unary ]
/// atom    = number | "(" sum ")"
/// </code>
/// </summary>
public sealed partial class ArithmeticExpression
{
    public const int MaxLength = 200;
    private const int MaxDepth = 32;
    private const int MaxExponent = 1000;

    private readonly string _text;
    private int _position;
    private int _depth;

    private ArithmeticExpression(string text) => _text = text;

    public static decimal Evaluate(string? expression)
    {
        if (string.IsNullOrWhiteSpace(expression))
        {
            throw new ToolInputException("The expression is empty.");
        }

        if (expression.Length > MaxLength)
        {
            throw new ToolInputException($"The expression is longer than {MaxLength} characters.");
        }

        var parser = new ArithmeticExpression(expression);
        try
        {
            var value = parser.Sum();
            parser.SkipSpaces();
            if (parser._position < expression.Length)
            {
                throw parser.Unexpected();
            }

            return value;
        }
        catch (OverflowException)
        {
            throw new ToolInputException("The result is too large.");
        }
        catch (DivideByZeroException)
        {
            throw new ToolInputException("The expression divides by zero.");
        }
    }

    private decimal Sum()
    {
        var value = Product();
        while (TryTake('+', '-') is { } op)
        {
            var right = Product();
            value = op == '+' ? value + right : value - right;
        }

        return value;
    }

    private decimal Product()
    {
        var value = Unary();
        while (TryTake('*', '/', '%', '×', '÷') is { } op)
        {
            var right = Unary();
            value = op switch
            {
                '*' or '×' => value * right,
                '%' => value % right,
                _ => value / right,
            };
        }

        return value;
    }

    private decimal Power()
    {
        var value = Atom();
        if (TryTake('^') is null)
        {
            return value;
        }

        var exponent = Nested(Unary);
        if (exponent != decimal.Truncate(exponent) || Math.Abs(exponent) > MaxExponent)
        {
            throw new ToolInputException($"Exponents must be whole numbers from -{MaxExponent} to {MaxExponent}.");
        }

        // A negative exponent raises the reciprocal: 2^-2 is 0.5^2, so nothing overflows on the way to a small result.
        var factor = exponent < 0 ? 1m / value : value;
        var result = 1m;
        for (var i = 0; i < Math.Abs(exponent); i++)
        {
            result *= factor;
        }

        return result == 0 && value != 0
            ? throw new ToolInputException("The result is too small for exact decimal arithmetic (28 decimal places).")
            : result;
    }

    private decimal Unary() => TryTake('+', '-') switch
    {
        '-' => -Nested(Unary),
        '+' => Nested(Unary),
        _ => Power(),
    };

    private decimal Atom()
    {
        if (TryTake('(') is not null)
        {
            var value = Nested(Sum);
            if (TryTake(')') is null)
            {
                throw Unexpected("a closing parenthesis");
            }

            return value;
        }

        SkipSpaces();
        var start = _position;
        while (_position < _text.Length && (char.IsAsciiDigit(_text[_position]) || _text[_position] is '.' or '_' or ','))
        {
            _position++;
        }

        var written = _text[start.._position];
        if (written.Length == 0)
        {
            throw Unexpected("a number");
        }

        // Digit groups ("1,000", "1_000") are read as nothing; a comma anywhere else ("1,5") is refused rather than
        // guessed at: it is a decimal point in half the world.
        if (written.Contains(',') && !DigitGroups().IsMatch(written))
        {
            throw new ToolInputException($"'{written}' is not a number: write decimals with a point (1.5) and thousands as 1,000.");
        }

        var digits = written.Replace(",", "").Replace("_", "");
        if (decimal.TryParse(digits, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }

        throw new ToolInputException(PlainNumber().IsMatch(digits)
            ? $"'{written}' is too large for exact decimal arithmetic."
            : $"'{written}' is not a number.");
    }

    private decimal Nested(Func<decimal> rule)
    {
        if (++_depth > MaxDepth)
        {
            throw new ToolInputException($"The expression nests deeper than {MaxDepth} levels.");
        }

        var value = rule();
        _depth--;
        return value;
    }

    private char? TryTake(params ReadOnlySpan<char> operators)
    {
        SkipSpaces();
        if (_position < _text.Length && operators.Contains(_text[_position]))
        {
            return _text[_position++];
        }

        return null;
    }

    private void SkipSpaces()
    {
        while (_position < _text.Length && char.IsWhiteSpace(_text[_position]))
        {
            _position++;
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")]
    private static partial System.Text.RegularExpressions.Regex DigitGroups();

    [System.Text.RegularExpressions.GeneratedRegex(@"^\d+(?:\.\d*)?$")]
    private static partial System.Text.RegularExpressions.Regex PlainNumber();

    private ToolInputException Unexpected(string? expected = null)
    {
        var found = _position < _text.Length ? $"'{_text[_position]}' at position {_position + 1}" : "the end";
        return new ToolInputException(expected is null ? $"Unexpected {found}." : $"Expected {expected}, found {found}.");
    }
}
