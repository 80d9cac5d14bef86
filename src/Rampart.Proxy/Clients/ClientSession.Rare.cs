using Rampart.Protocol;
using Rampart.Proxy.Backends;

namespace Rampart.Proxy.Clients;

internal sealed partial class ClientSession
{
    /// <summary>
    /// What few connections ever use, in an object made at first use: an idle client, and most busy ones, never
    /// need it (40 bytes fewer per connection than the fields themselves). Its fields are read and written as the
    /// session's own were (the waiters from server reader threads, with the same volatile and interlocked accesses).
    /// </summary>
    private sealed class RareState
    {
        // The server link waiting for this client to hold at most HeldWaitLimit bytes (a large reply passing through).
        public TaskCompletionSource? HeldWaiter;
        public long HeldWaitLimit;
        // A request waiting until every earlier reply is written (DeferUntilDrained).
        public TaskCompletionSource? DrainWaiter;
        public RequestReader? Lookahead;
        // The server connections after the first that one read's requests went to (flushed at its end).
        public List<ServerConnection>? TouchedMore;
        public string? Name;
    }

    private RareState? _rare;

    /// <summary>The rare state, made on first use; another thread may make it at the same moment, and one wins.</summary>
    private RareState Rare => Volatile.Read(ref _rare) ?? MakeRare();

    private RareState MakeRare()
    {
        Interlocked.CompareExchange(ref _rare, new RareState(), null);
        return _rare!;
    }
}
