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
public sealed class ArithmeticExpression
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

        var result = 1m;
        for (var i = 0; i < Math.Abs(exponent); i++)
        {
            result *= value;
        }

        return exponent < 0 ? 1m / result : result;
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

        // Digit group separators ("1,000" or "1_000") are read as nothing: no locale reads a comma as a decimal point here.
        var digits = _text[start.._position].Replace(",", "").Replace("_", "");
        if (digits.Length == 0)
        {
            throw Unexpected("a number");
        }

        return decimal.TryParse(digits, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new ToolInputException($"'{_text[start.._position]}' is not a number.");
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

    private ToolInputException Unexpected(string? expected = null)
    {
        var found = _position < _text.Length ? $"'{_text[_position]}' at position {_position + 1}" : "the end";
        return new ToolInputException(expected is null ? $"Unexpected {found}." : $"Expected {expected}, found {found}.");
    }
}
