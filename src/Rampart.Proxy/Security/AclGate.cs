using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Clients;

namespace Rampart.Proxy.Security;

/// <summary>
/// Where a session meets its pool's ACL: the connection's starting user, AUTH, RESET, and the check before every
/// command (CommandDispatcher.TryResolve, so queued MULTI commands and pub/sub commands on a pinned connection are
/// checked too, at the time Redis checks them). A session keeps a reference to its immutable user; when a reload swaps
/// the pool's users it looks its user up again by name, so changed permissions apply at once, as in Redis, and a user
/// that is gone leaves the connection unauthenticated.
/// </summary>
internal static class AclGate
{
    /// <summary>A new connection (or RESET): the default user when it is on and nopass, else unauthenticated.</summary>
    public static void Start(ClientSession session, PoolAcl acl)
    {
        session.AclSource = acl;
        session.AclUser = acl.DefaultOpensWithoutAuth ? acl.Default : null;
        session.IsAuthenticated = session.AclUser is not null;
    }

    /// <summary>AUTH / HELLO AUTH: true and the session becomes <paramref name="name"/> when the password is right.</summary>
    public static bool Authenticate(ClientSession session, PoolAcl acl, ReadOnlySpan<byte> name, ReadOnlySpan<byte> password)
    {
        if (acl.Authenticate(name, password) is not { } user) return false;
        session.AclSource = acl;
        session.AclUser = user;
        session.IsAuthenticated = true;
        return true;
    }

    /// <summary>Null when the request may run; otherwise the error to reply (NOPERM, or NOAUTH for a deleted user).</summary>
    public static string? Refusal(ClientSession session, PoolAcl acl, CommandInfo command, Request request)
    {
        if (!ReferenceEquals(session.AclSource, acl)) Rebind(session, acl);
        if (session.AclUser is not { } user)
        {
            if (!session.IsAuthenticated || (command.Flags & CommandFlags.NoAuth) != 0) return null;
            session.IsAuthenticated = false;
            return "NOAUTH Authentication required.";
        }
        var denial = AclCheck.Check(user, command, request);
        return denial == AclDenial.None ? null : AclCheck.Message(denial, command);
    }

    private static void Rebind(ClientSession session, PoolAcl acl)
    {
        // A session authenticated before ACLs were configured was Redis's default user.
        var name = session.AclUser?.NameBytes ?? (session.IsAuthenticated ? "default"u8.ToArray() : null);
        session.AclSource = acl;
        session.AclUser = name is null ? null : acl.Find(name);
    }
}
