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
}
