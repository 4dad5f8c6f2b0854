using System.Diagnostics;

namespace GptAspire.Benchmarks;

/// <summary>Runs the build and install steps the bench needs before it starts any server.</summary>
public static class Commands
{
    public static async Task<int> RunAsync(string fileName, IEnumerable<string> arguments, string workingDirectory, bool quiet = false)
    {
        var info = new ProcessStartInfo(fileName, arguments)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = quiet,
            RedirectStandardError = quiet,
        };
        try
        {
            using var process = Process.Start(info)!;
            if (quiet)
            {
                _ = process.StandardOutput.ReadToEndAsync();
                _ = process.StandardError.ReadToEndAsync();
            }

            await process.WaitForExitAsync();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Not on the PATH.
            return -1;
        }
    }

    public static async Task<string> OutputAsync(string fileName, params string[] arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(fileName, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            return output.Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "";
        }
    }
}
