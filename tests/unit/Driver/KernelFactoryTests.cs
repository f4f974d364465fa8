using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using VfioSim.Cli;
using VfioSim.Driver;
using VfioSim.Uapi;

namespace VfioSim.Tests.Unit.Driver;

public class KernelFactoryTests
{
    private static IConfiguration Config(params (string Key, string Value)[] pairs) =>
        new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value))).Build();

    [Test]
    public void Without_configuration_the_backend_is_the_simulator_on_the_default_machine()
    {
        var (kernel, machine) = KernelFactory.Create(Config());
        using (kernel)
        {
            Assert.Multiple(() =>
            {
                Assert.That(machine, Is.Not.Null);
                Assert.That(kernel, Is.InstanceOf<VfioSim.Vfio.Process.SimProcess>());
            });
        }
    }

    [Test]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Vfio_backend_host_gives_the_real_kernel()
    {
        if (!OperatingSystem.IsLinux()) Assert.Ignore("the host backend needs Linux");
        var (kernel, machine) = KernelFactory.Create(Config(("Vfio:Backend", "host")));
        using (kernel)
        {
            Assert.Multiple(() =>
            {
                Assert.That(machine, Is.Null);
                Assert.That(kernel, Is.InstanceOf<HostKernel>());
            });
        }
    }

    [Test]
    public void An_unknown_backend_is_named_in_the_error()
    {
        var e = Assert.Throws<ArgumentException>(() => KernelFactory.Create(Config(("Vfio:Backend", "qemu"))));
        Assert.That(e!.Message, Does.Contain("'qemu'"));
    }

    [Test]
    public void Vfio_machine_selects_the_simulators_machine_file()
    {
        string q3 = Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "conformance", "q3.qemu");
        var (kernel, machine) = KernelFactory.Create(Config(("Vfio:Machine", q3)));
        using (kernel) Assert.That(machine!.Groups.Count, Is.EqualTo(8));
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }

    [Test]
    public void The_logging_kernel_writes_one_strace_like_line_per_syscall()
    {
        var (inner, _) = KernelFactory.Create(Config());
        var log = new ListLogger();
        using var k = new LoggingKernel(inner, log);
        int fd = k.Eventfd(0, EventfdFlags.None);
        k.Ioctl(fd, VfioUapi.GET_API_VERSION, 0);
        k.Close(fd);
        Assert.That(log.Lines, Is.EqualTo(new[]
        {
            $"eventfd(0, None) = {fd}",
            $"ioctl({fd}, 0x3b64, 0x0) = -1 ENOTTY",
            $"close({fd}) = 0",
        }));
    }
}
