using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Compatibility;

/// <summary>
/// A client that keeps pipelining SET/GET of unique values on its own keys through a pool and checks every reply is
/// its own, while another client does something unusual on the same pool: one client must never disturb another.
/// Bounded: it stops when told, or after 100,000 rounds.
/// </summary>
public sealed class Canary : IAsyncDisposable
{
    private const int Pipeline = 16;
    private const int MaxRounds = 100_000;

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<string> _errors = [];

    public int Rounds { get; private set; }

    /// <summary>Wrong, missing or failed replies (at most the first 10 are kept).</summary>
    public int ErrorCount { get; private set; }
    public IReadOnlyList<string> Errors => _errors;

    public Canary(int port, string name = "canary") => _loop = Task.Run(() => Run(port, name));

    private void Run(int port, string name)
    {
        try
        {
            using var client = new RawClient(port);
            for (int round = 0; round < MaxRounds && !_stop.IsCancellationRequested; round++)
            {
                var values = new string[Pipeline];
                var request = new System.Text.StringBuilder();
                for (int i = 0; i < Pipeline; i++)
                {
                    values[i] = $"{name}-{round}-{i}-{Guid.NewGuid():N}";
                    request.Append(RespText.Command("SET", $"{{{name}}}:{i}", values[i])).Append(RespText.Command("GET", $"{{{name}}}:{i}"));
                }
                client.Send(request.ToString());
                for (int i = 0; i < Pipeline; i++)
                {
                    Expect(client.ReadLine(), "+OK");
                    Expect(client.ReadLine(), $"${values[i].Length}");
                    Expect(client.ReadLine(), values[i]);
                }
                Rounds = round + 1;
            }
        }
        catch (Exception e)
        {
            Record($"{e.GetType().Name}: {e.Message}");
        }
    }

    private void Expect(string actual, string expected)
    {
        if (actual != expected) Record($"expected {expected}, got {actual}");
    }

    private void Record(string error)
    {
        lock (_errors)
        {
            ErrorCount++;
            if (_errors.Count < 10) _errors.Add(error);
        }
    }

    /// <summary>Stops the loop and waits for it; the caller then asserts <see cref="ErrorCount"/> is 0 and <see cref="Rounds"/> above 0.</summary>
    public async Task StopAsync()
    {
        _stop.Cancel();
        await _loop;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
