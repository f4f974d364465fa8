using VfioSim.Cli;

return CliApp.Build().Parse(args).Invoke();
