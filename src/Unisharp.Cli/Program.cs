return await Unisharp.Cli.UnisharpCommandLine.InvokeAsync(args);
