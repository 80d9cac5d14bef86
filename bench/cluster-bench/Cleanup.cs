namespace ClusterBench;

/// <summary>
/// The environments alive now, so a Ctrl-C or SIGTERM (ProcessExit) still stops their processes by PID. Disposing
/// twice is harmless: every process is killed only if it still runs.
/// </summary>
public static class Cleanup
{
    private static readonly List<IDisposable> Alive = [];

    public static T Track<T>(T item) where T : IDisposable
    {
        lock (Alive) Alive.Add(item);
        return item;
    }

    public static void DisposeAll()
    {
        IDisposable[] items;
        lock (Alive)
        {
            items = [.. Alive];
            Alive.Clear();
        }
        foreach (var item in items) item.Dispose();
    }
}
