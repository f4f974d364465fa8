using VfioSim.Cli;

namespace VfioSim.Tests.Unit.Lspci;

/// <summary><c>vfio-sim lspci</c> on the command line: lspci's switches, and clear errors for what is not there.</summary>
[NonParallelizable]
public class LspciCommandTests
{
    private static string Machine(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "conformance", name);

    private static (int Rc, string Out, string Err) Run(params string[] args) => RunOn("q1.qemu", args);

    private static (int Rc, string Out, string Err) RunOn(string machine, params string[] args)
    {
        var (stdout, stderr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        try
        {
            Console.SetOut(o);
            Console.SetError(e);
            int rc = CliApp.Build().Parse(["--machine", Machine(machine), "lspci", .. args]).Invoke();
            return (rc, o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
        }
    }

    [Test]
    public void Tree_of_the_machine_file_is_what_lspci_printed_in_the_guest()
    {
        var (rc, output, _) = Run("-tvnn");
        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.Zero);
            Assert.That(output, Is.EqualTo(File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "data", "lspci", "q1-tvnn.txt"))));
        });
    }

    [Test]
    public void Bundled_switches_count_like_lspcis_getopt()
    {
        var (rc, output, _) = Run("-vnns", "00:02.0");
        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.Zero);
            Assert.That(output, Does.StartWith("00:02.0 PCI bridge [0604]: Red Hat, Inc. QEMU PCIe Root port [1b36:000c] (prog-if 00 [Normal decode])\n\tSubsystem:"));
        });
    }

    [Test]
    public void Bad_slot_selector_is_reported_with_lspcis_message()
    {
        var (rc, output, error) = Run("-s", "100:00.0");
        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.EqualTo(2));
            Assert.That(output, Is.Empty);
            Assert.That(error, Is.EqualTo("vfio-sim lspci: -s: Invalid bus number\n"));
        });
    }

    [Test]
    public void More_verbosity_than_v_is_refused_not_ignored()
    {
        var (rc, output, error) = Run("-vv");
        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.EqualTo(2));
            Assert.That(output, Is.Empty);
            Assert.That(error, Does.Contain("only -v is implemented"));
        });
    }

    [Test]
    public void Sriov_option_adds_the_vfs_before_listing()
    {
        var (rc, output, _) = RunOn("q2.qemu", "-n", "-s", "08:", "--sriov", "0000:08:00.0=2");
        Assert.Multiple(() =>
        {
            Assert.That(rc, Is.Zero);
            Assert.That(output, Is.EqualTo("08:00.0 0108: 1b36:0010 (rev 02)\n08:00.1 0108: 1b36:0010 (rev 02)\n08:00.2 0108: 1b36:0010 (rev 02)\n"));
        });
    }
}
