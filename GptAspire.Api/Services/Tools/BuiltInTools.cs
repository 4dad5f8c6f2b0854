using System.ComponentModel;
using System.Globalization;
using Microsoft.Extensions.AI;

namespace GptAspire.Api.Services.Tools;

/// <summary>
/// The two tools the API offers the model out of the box. Both need no network and are safe with any input: a time
/// zone is looked up by name, an expression is parsed by <see cref="ArithmeticExpression"/>, never run as code.
/// </summary>
public static partial class BuiltInTools
{
    public const string CurrentTimeName = "get_current_time";
    public const string CalculateName = "calculate";

    /// <summary>The current date and time in an IANA time zone.</summary>
    public static AIFunction CurrentTime(TimeProvider time) => AIFunctionFactory.Create(
        ([Description("An IANA time zone, such as Asia/Tokyo, Europe/London or America/New_York.")] string timeZone) =>
            CurrentTimeIn(timeZone, time.GetUtcNow()),
        CurrentTimeName,
        "Gets the current date and time in an IANA time zone.");

    /// <summary>Exact decimal arithmetic on an expression.</summary>
    public static AIFunction Calculate() => AIFunctionFactory.Create(
        ([Description("Arithmetic on decimal numbers with + - * / % ^ and parentheses, such as (12.5 + 7) * 3.")] string expression) =>
            new Calculation(expression, ArithmeticExpression.Evaluate(expression)),
        CalculateName,
        "Calculates an arithmetic expression exactly.");

    public static CurrentTimeResult CurrentTimeIn(string? timeZone, DateTimeOffset utcNow)
    {
        TimeZoneInfo zone;
        try
        {
            // Only names shaped like the IANA database's ("Asia/Tokyo", "Etc/GMT+9", "UTC"), never a path of the
            // system's zone files; a folder of them ("America") fails to load below. (The API runs with invariant
            // globalization, so ICU's list of zone names is not there to check against.)
            var name = timeZone?.Trim();
            zone = name is null || name.Length > 64 || !IanaName().IsMatch(name)
                ? throw new TimeZoneNotFoundException()
                : TimeZoneInfo.FindSystemTimeZoneById(name);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException or System.Security.SecurityException
            or UnauthorizedAccessException or IOException or ArgumentException)
        {
            throw new ToolInputException($"'{ToolEvents.Shorten(timeZone ?? "")}' is not a time zone name of the IANA database, such as Europe/London.");
        }

        var local = TimeZoneInfo.ConvertTime(utcNow, zone);
        var offset = local.Offset;
        return new CurrentTimeResult(
            zone.Id,
            local.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
            (offset < TimeSpan.Zero ? "-" : "+") + offset.ToString(@"hh\:mm", CultureInfo.InvariantCulture),
            local.DayOfWeek.ToString());
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9][A-Za-z0-9_+-]*){0,2}$")]
    private static partial System.Text.RegularExpressions.Regex IanaName();

    public sealed record CurrentTimeResult(string TimeZone, string LocalTime, string UtcOffset, string DayOfWeek);

    public sealed record Calculation(string Expression, decimal Value);
}
