using System.Collections.Concurrent;
using Rampart.Protocol;
using Rampart.Proxy.Backends;

namespace Rampart.Proxy.Commands;

/// <summary>
/// A multi-key command (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH) whose keys live on several servers: one child
/// request per server, sent in the same batch as everything else, and one parent request in the client's reply
/// queue that completes when the last child has answered, with the children's replies merged in the client's key
/// order (MGET), summed (DEL, UNLINK, EXISTS, TOUCH) or reduced to one +OK (MSET). An error from any child becomes
/// the whole reply, as twemproxy does. The same machinery fans keyless commands out to every server of a pool
/// (ShardedKeyless): their replies are summed, reduced to +OK, required to be identical (SCRIPT LOAD, FUNCTION LIST)
/// or combined element by element (SCRIPT EXISTS: 1 only where every server says 1).
/// </summary>
internal sealed class MultiKeyRequest : Backends.IReplyGatherer
{
    public enum MergeKind : byte
    {
        /// <summary>MGET: each key's value from the child that owns it, in the client's key order.</summary>
        Values,
        /// <summary>Integer replies added up.</summary>
        Sum,
        /// <summary>One +OK once every child said +OK.</summary>
        Ok,
        /// <summary>Every child's reply must be byte-identical; that reply, else an error saying they differ.</summary>
        Same,
        /// <summary>
        /// Like <see cref="Same"/>, but arrays may list their elements in any order (FUNCTION LIST: each server lists
        /// libraries and functions in its own hash table's order). The first child's reply is the answer.
        /// </summary>
        SameUpToOrder,
        /// <summary>
        /// INFO: bulk strings of sections of "field:value" lines, merged section by section with Rampart's own facts
        /// (<see cref="InfoMerge"/>, <see cref="MultiKeyRequest.Info"/>).
        /// </summary>
        Info,
        /// <summary>Arrays of 0/1 integers of equal length: 1 at a position only where every child has 1.</summary>
        AllOf,
        /// <summary>
        /// PUBSUB SHARDNUMSUB: each channel's name and count from the child that owns the channel, in the client's
        /// order (as <see cref="Values"/>, two elements per channel).
        /// </summary>
        Pairs,
        /// <summary>PUBSUB SHARDCHANNELS: every child's array elements, each distinct one once, in child order.</summary>
        Union,
        /// <summary>
        /// SCRIPT KILL, FUNCTION KILL: +OK when any child said +OK (the server where the script was busy); else the
        /// first error that is not NOTBUSY (UNKILLABLE), else NOTBUSY.
        /// </summary>
        AnyOk,
    }

    /// <summary>The reply when <see cref="MergeKind.Same"/> children disagree: there is no one answer for the pool.</summary>
    internal const string ServersDisagree = "ERR rampart: the servers of this pool answered differently, so there is no single answer for the pool";

    private static readonly ConcurrentQueue<MultiKeyRequest> Pool = new();

    private readonly List<int> _ownerOfKey = [];
    private readonly List<ProxyRequest> _children = [];
    private readonly ReplyScanner _scanner = new();
    private ProxyRequest _parent = null!;
    private MergeKind _merge;
    private int _remaining;

    /// <summary>For <see cref="MergeKind.Info"/>: what Rampart says of the pool, taken when the INFO was dispatched.</summary>
    public InfoFacts? Info { get; set; }

    public static MultiKeyRequest Rent(ProxyRequest parent, MergeKind merge)
    {
        if (!Pool.TryDequeue(out var request)) request = new MultiKeyRequest();
        request._parent = parent;
        request._merge = merge;
        return request;
    }

    /// <summary>Records which child (by index) answers the next key of the client's request.</summary>
    public void AddKeyOwner(int child) => _ownerOfKey.Add(child);

    public IReadOnlyList<ProxyRequest> Children => _children;

    public void AddChild(ProxyRequest child)
    {
        child.Parent = this;
        _children.Add(child);
    }

    /// <summary>Arms the countdown; call after every child was added and before any is sent.</summary>
    public void Arm() => _remaining = _children.Count;

    /// <summary>
    /// Called once per child when its reply (or error) is in. The call that completes the parent returns it, its
    /// payload holding the merged reply (the caller wakes the client); the others return null.
    /// </summary>
    public ProxyRequest? ChildCompleted()
    {
        if (Interlocked.Decrement(ref _remaining) != 0) return null;
        var parent = _parent;
        try
        {
            Merge(parent.Payload);
        }
        catch (RespProtocolException e)
        {
            // A malformed child reply spoils this one client reply only; the server connection is not at fault.
            parent.Payload.Clear();
            RespWriter.Error(parent.Payload, "ERR rampart: cannot merge the servers' replies: " + e.Message);
        }
        foreach (var child in _children) child.Return();
        Reset();
        parent.SetCompletedQuietly();
        return parent;
    }

    private void MergeAnyOk(ByteBuffer output)
    {
        ReadOnlySpan<byte> answer = default;
        foreach (var child in _children)
        {
            var reply = child.Payload.Span;
            if (reply.SequenceEqual("+OK\r\n"u8))
            {
                output.Write(reply);
                return;
            }
            if (answer.IsEmpty || answer.StartsWith("-NOTBUSY"u8)) answer = reply;
        }
        output.Write(answer);
    }

    private void Merge(ByteBuffer output)
    {
        output.Clear();
        if (_merge == MergeKind.AnyOk)
        {
            MergeAnyOk(output);
            return;
        }
        foreach (var child in _children)
        {
            var reply = child.Payload.Span;
            if (reply.Length > 0 && reply[0] is (byte)'-' or (byte)'!')
            {
                output.Write(reply);
                return;
            }
        }
        switch (_merge)
        {
            case MergeKind.Ok:
                RespWriter.SimpleString(output, "OK"u8);
                break;
            case MergeKind.Sum:
                long sum = 0;
                foreach (var child in _children) sum += ReadInteger(child.Payload.Span);
                RespWriter.Integer(output, sum);
                break;
            case MergeKind.Values:
                MergeValues(output, perKey: 1);
                break;
            case MergeKind.Pairs:
                MergeValues(output, perKey: 2);
                break;
            case MergeKind.Union:
                MergeUnion(output);
                break;
            case MergeKind.Same:
            case MergeKind.SameUpToOrder:
                if (ChildrenAgree()) output.Write(_children[0].Payload.Span);
                else RespWriter.Error(output, ServersDisagree);
                break;
            case MergeKind.AllOf:
                MergeAllOf(output);
                break;
            case MergeKind.Info:
                // In the type the servers used: a verbatim string for a RESP3 client, as Redis answers it INFO.
                RespWriter.Text(output, InfoMerge.Merge(_children.Select(c => c.Payload.Span.ToArray()), Info!),
                    resp3: _children[0].Payload.Span[0] == (byte)'=');
                break;
        }
    }

    /// <summary>
    /// MGET (one element per key) and PUBSUB SHARDNUMSUB (two per channel): each child answered an array of its keys'
    /// elements in order; interleave them back in the client's order.
    /// </summary>
    private void MergeValues(ByteBuffer output, int perKey)
    {
        Span<int> cursor = _children.Count <= 64 ? stackalloc int[_children.Count] : new int[_children.Count];
        for (int c = 0; c < _children.Count; c++) cursor[c] = HeaderLength(_children[c].Payload.Span);
        RespWriter.ArrayHeader(output, _ownerOfKey.Count * perKey);
        foreach (int c in _ownerOfKey)
        {
            for (int e = 0; e < perKey; e++)
            {
                var rest = _children[c].Payload.Span[cursor[c]..];
                if (!_scanner.TryScan(rest, out int length))
                    throw new RespProtocolException("Protocol error from server: reply shorter than its keys");
                output.Write(rest[..length]);
                cursor[c] += length;
            }
        }
    }

    /// <summary>PUBSUB SHARDCHANNELS: the channels every server has subscribers for, each once.</summary>
    private void MergeUnion(ByteBuffer output)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var elements = new ByteBuffer(256);
        foreach (var child in _children)
        {
            var reply = child.Payload.Span;
            long count = ReadArrayLength(reply, out int cursor);
            for (long i = 0; i < count; i++)
            {
                if (!_scanner.TryScan(reply[cursor..], out int length))
                    throw new RespProtocolException("Protocol error from server: array shorter than its length");
                var element = reply.Slice(cursor, length);
                if (seen.Add(System.Text.Encoding.Latin1.GetString(element))) elements.Write(element); // one char per byte: exact
                cursor += length;
            }
        }
        RespWriter.ArrayHeader(output, seen.Count);
        output.Write(elements.Span);
    }

    /// <summary>Same: every child's reply byte-identical to the first's; SameUpToOrder: identical but for array order.</summary>
    private bool ChildrenAgree()
    {
        var first = _children[0].Payload.Span;
        string? canonical = _merge == MergeKind.SameUpToOrder ? CanonicalReply.Of(first) : null;
        foreach (var child in _children)
        {
            bool agrees = canonical is null ? child.Payload.Span.SequenceEqual(first) : CanonicalReply.Of(child.Payload.Span) == canonical;
            if (!agrees) return false;
        }
        return true;
    }

    /// <summary>SCRIPT EXISTS: a script exists for the pool only where it exists on every server.</summary>
    private void MergeAllOf(ByteBuffer output)
    {
        long count = ReadArrayLength(_children[0].Payload.Span, out _);
        Span<int> cursor = _children.Count <= 64 ? stackalloc int[_children.Count] : new int[_children.Count];
        for (int c = 0; c < _children.Count; c++)
        {
            if (ReadArrayLength(_children[c].Payload.Span, out cursor[c]) != count)
                throw new RespProtocolException("Protocol error from server: servers answered arrays of different lengths");
        }
        RespWriter.ArrayHeader(output, count);
        for (long i = 0; i < count; i++)
        {
            long all = 1;
            for (int c = 0; c < _children.Count; c++)
            {
                var rest = _children[c].Payload.Span[cursor[c]..];
                int end = rest.IndexOf((byte)'\n');
                if (end < 0) throw new RespProtocolException("Protocol error from server: array shorter than its length");
                if (ReadInteger(rest[..(end + 1)]) == 0) all = 0;
                cursor[c] += end + 1;
            }
            RespWriter.Integer(output, all);
        }
    }

    private static long ReadArrayLength(ReadOnlySpan<byte> reply, out int headerLength)
    {
        headerLength = HeaderLength(reply);
        if (!RespNumber.TryParse(reply[1..(headerLength - 2)], out long count) || count < 0)
            throw new RespProtocolException("Protocol error from server: bad array length");
        return count;
    }

    private static int HeaderLength(ReadOnlySpan<byte> reply)
    {
        if (reply.Length == 0 || reply[0] != (byte)'*')
            throw new RespProtocolException("Protocol error from server: expected an array reply");
        return reply.IndexOf((byte)'\n') + 1;
    }

    private static long ReadInteger(ReadOnlySpan<byte> reply)
    {
        if (reply.Length < 4 || reply[0] != (byte)':' || !RespNumber.TryParse(reply[1..^2], out long value))
            throw new RespProtocolException("Protocol error from server: expected an integer reply");
        return value;
    }

    private void Reset()
    {
        _ownerOfKey.Clear();
        _children.Clear();
        _scanner.Reset();
        _parent = null!;
        Info = null;
        Pool.Enqueue(this);
    }
}
