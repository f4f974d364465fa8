using BenchmarkDotNet.Running;

namespace VfioSim.Bench;

public static class Program
{
    /// <summary>Runs the benchmarks BenchmarkDotNet's command line selects (e.g. <c>--filter '*'</c>).</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
