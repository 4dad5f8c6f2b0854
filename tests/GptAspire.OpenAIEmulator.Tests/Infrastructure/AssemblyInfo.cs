using GptAspire.OpenAIEmulator.Tests.Infrastructure;

[assembly: AssemblyFixture(typeof(EmulatorFixture))]
