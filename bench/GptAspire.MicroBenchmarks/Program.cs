// Micro-benchmarks of the per-token paths. From the repository root:
//   dotnet run -c Release --project bench/GptAspire.MicroBenchmarks -- --filter '*'
//   dotnet run -c Release --project bench/GptAspire.MicroBenchmarks -- --filter '*ChunkWriting*' --job short
//   dotnet run -c Release --project bench/GptAspire.MicroBenchmarks -- --retention   (what an open answer keeps)
//   dotnet run -c Release --project bench/GptAspire.MicroBenchmarks -- --cpu-per-token   (on a loaded machine)
// Every public benchmark class in this assembly is found, so a new per-token path needs only its class.
using BenchmarkDotNet.Running;

if (args is ["--retention"])
{
    await GptAspire.MicroBenchmarks.Api.StreamRetentionProbe.RunAsync();
    return;
}

if (args is ["--cpu-per-token"])
{
    await GptAspire.MicroBenchmarks.Api.CpuPerTokenProbe.RunAsync();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(GptAspire.MicroBenchmarks.Emulator.ChunkWritingBenchmarks).Assembly).Run(args);
