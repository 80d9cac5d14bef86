using Rampart.Cli;

// Before any socket exists: run socket completions on the event thread instead of hopping to the thread pool.
// A proxy's work per event is short, and the hop (a context switch) costs more than the work; see docs/performance.md.
RuntimeKnobs.Apply();
return await RampartCommandLine.Build().Parse(args).InvokeAsync();
