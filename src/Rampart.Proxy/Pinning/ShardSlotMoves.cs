using System.Text;
using Rampart.Protocol;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// Tells a subscriber's own SUNSUBSCRIBE confirmations apart from the ones Redis 7 sends unasked when a shard channel's
/// slot leaves the node (the slot moved, or the node stopped being a master: cluster.c removes the slot's shard
/// channels and tells each subscriber "sunsubscribe"). Those are held back from the client, with the frame as the
/// server sent it, until the subscription has followed its slot (PinnedSession.ShardChannels.cs), or relayed as they
/// are when it cannot.
/// </summary>
/// <remarks>
/// A confirmation counts as the client's when the client named the channel in a SUNSUBSCRIBE still unconfirmed (or
/// held it when it sent SUNSUBSCRIBE without names). Not thread-safe: touched only under the owning
/// <see cref="PinnedSession"/>'s lock.
/// </remarks>
internal sealed class ShardSlotMoves
{
    // SUNSUBSCRIBE confirmations the client asked for and has not had yet, by channel (Latin-1, as Subscriptions).
    private Dictionary<string, int>? _asked;
    private List<(string Channel, byte[] Frame)>? _moved;

    /// <summary>Shard channels whose slot left the node, not yet followed.</summary>
    public IReadOnlyList<(string Channel, byte[] Frame)> Moved => (IReadOnlyList<(string, byte[])>?)_moved ?? [];

    /// <summary>A task is following the moved channels' slot (one at a time).</summary>
    public bool Following { get; set; }

    /// <summary>
    /// The client's SUNSUBSCRIBE, forwarded: the confirmations it brings back are the client's, and a channel it ends
    /// is not followed. Without names, the node will not confirm the moved channels (it no longer has them): their
    /// held frames are returned, to go to the client now as their confirmations.
    /// </summary>
    public List<byte[]>? ClientUnsubscribes(Request request, Subscriptions held)
    {
        _asked ??= new Dictionary<string, int>(StringComparer.Ordinal);
        List<byte[]>? confirmations = null;
        if (request.Count == 1)
        {
            foreach (var (channel, frame) in Moved) (confirmations ??= []).Add(frame);
            _moved?.Clear();
            foreach (var channel in held.ShardChannels) Ask(channel);
            return confirmations;
        }
        for (int i = 1; i < request.Count; i++)
        {
            string channel = Encoding.Latin1.GetString(request[i]);
            _moved?.RemoveAll(m => m.Channel == channel); // the node confirms a named channel, held or not
            Ask(channel);
        }
        return null;
    }

    private void Ask(string channel) => _asked![channel] = _asked.GetValueOrDefault(channel) + 1;

    /// <summary>
    /// True when <paramref name="reply"/> is a sunsubscribe the client did not ask for, of a shard channel it holds:
    /// kept here (not relayed, and the channel still counted as held) until followed.
    /// </summary>
    public bool TryHoldUnasked(ReadOnlySpan<byte> reply, Subscriptions held)
    {
        if (!Subscriptions.TryReadShardUnsubscribe(reply, out string? channel)) return false;
        if (_asked is not null && _asked.TryGetValue(channel, out int asked))
        {
            if (asked == 1) _asked.Remove(channel);
            else _asked[channel] = asked - 1;
            return false;
        }
        if (!held.HoldsShardChannel(channel)) return false;
        (_moved ??= []).Add((channel, reply.ToArray()));
        return true;
    }

    /// <summary>The moved channels were followed (or given up on): nothing is held any more.</summary>
    public void Clear() => _moved?.Clear();
}
