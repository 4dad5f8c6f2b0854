// Micro-benchmarks of the per-token paths. From the repository root:
//   dotnet run -c Release --project bench/GptAspire.MicroBenchmarks -- --filter '*'
//   dotnet run -c Release --project bench/GptAspire.MicroBenchmarks -- --filter '*ChunkWriting*' --job short
// Every public benchmark class in this assembly is found, so a new per-token path needs only its class.
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(GptAspire.MicroBenchmarks.Emulator.ChunkWritingBenchmarks).Assembly).Run(args);
