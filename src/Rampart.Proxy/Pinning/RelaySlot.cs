using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// The place in a client's reply queue that frames relayed from its dedicated connection go into, one per socket read
/// (subscribed mode, a connection taken whole): made on the read's first frame, completed when the read is done, so
/// the client is woken once per read. Frames go out whatever CLIENT REPLY says, as Redis sends pushes (a relay that
/// must leave a reply out does so before writing it). Used under its owner's lock.
/// </summary>
internal sealed class RelaySlot(ClientSession session)
{
    private ProxyRequest? _slot;

    /// <summary>Appends one frame, as the server wrote it.</summary>
    public void Write(ReadOnlySpan<byte> frame)
    {
        if (_slot is null)
        {
            _slot = ProxyRequest.Rent(session);
            session.AppendUnsilenced(_slot);
        }
        _slot.Payload.Write(frame);
        session.AccountReply(frame.Length);
    }

    /// <summary>Completes this read's slot; true when there was one (the client is to be woken).</summary>
    public bool Complete()
    {
        if (_slot is not { } slot) return false;
        _slot = null;
        slot.SetCompletedQuietly();
        return true;
    }
}
