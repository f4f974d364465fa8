using VfioSim.Cli;

namespace VfioSim.Tests.Unit.Driver;

public class DemoCommandTests
{
    [Test]
    public void Demo_on_the_default_machine_verifies_the_dma_round_trip_and_exits_0()
    {
        var output = new StringWriter();
        var saved = Console.Out;
        Console.SetOut(output);
        int exit;
        try
        {
            exit = CliApp.Build().Parse(["demo"]).Invoke();
        }
        finally
        {
            Console.SetOut(saved);
        }
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That(output.ToString(), Does.Contain("verified").And.Contain("479001600"));
        });
    }

    [TestCase("--Vfio:Backend=bogus", "'bogus'")]
    [TestCase("--Vfio:Machine=/nonexistent.qemu", "file not found")]
    public void Bad_configuration_is_a_message_and_exit_2_not_a_stack_trace(string option, string message)
    {
        var error = new StringWriter();
        var saved = Console.Error;
        Console.SetError(error);
        int exit;
        try
        {
            exit = CliApp.Build().Parse(["demo", option]).Invoke();
        }
        finally
        {
            Console.SetError(saved);
        }
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(error.ToString(), Does.StartWith("vfio-sim demo: ").And.Contain(message));
        });
    }
}
