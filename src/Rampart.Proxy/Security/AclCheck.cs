using Rampart.Protocol;
using Rampart.Protocol.Commands;

namespace Rampart.Proxy.Security;

/// <summary>Why a user may not run a request, in the order Redis checks: the command, then its keys, then its channels.</summary>
public enum AclDenial
{
    None,
    Command,
    Key,
    Channel,
}

/// <summary>
/// Redis's ACLSelectorCheckCmd for one user: the command's bit (a NO_AUTH command such as AUTH or HELLO always
/// passes), every key against the user's patterns with the access its key spec needs, then every channel of PUBLISH,
/// SPUBLISH, SUBSCRIBE, SSUBSCRIBE and PSUBSCRIBE (a PSUBSCRIBE pattern must equal one of the user's channel patterns
/// literally, as in Redis). Reads the request's spans only: no allocation. The caller has already checked arity.
/// </summary>
public static class AclCheck
{
    private static readonly int Publish = IdOf("PUBLISH"u8), SPublish = IdOf("SPUBLISH"u8);
    private static readonly int Subscribe = IdOf("SUBSCRIBE"u8), SSubscribe = IdOf("SSUBSCRIBE"u8), PSubscribe = IdOf("PSUBSCRIBE"u8);

    private static int IdOf(ReadOnlySpan<byte> name) => CommandTable.Find(name)!.Id;

    public static AclDenial Check(AclUser user, CommandInfo command, Request request)
    {
        if (user.AllowsEverything) return AclDenial.None;
        if ((command.Flags & CommandFlags.NoAuth) == 0 && !user.AllowsCommandId(command.Id)) return AclDenial.Command;
        if (!user.AllKeys && command.HasAclKeys && !KeysAllowed(user, command, request)) return AclDenial.Key;
        if (!user.AllChannels && !ChannelsAllowed(user, command, request)) return AclDenial.Channel;
        return AclDenial.None;
    }

    /// <summary>Redis's NOPERM reply text for a denial (without the leading '-' and CRLF).</summary>
    public static string Message(AclDenial denial, CommandInfo command) => denial switch
    {
        AclDenial.Command => $"NOPERM this user has no permissions to run the '{command.Name}' command",
        AclDenial.Key => "NOPERM this user has no permissions to access one of the keys used as arguments",
        _ => "NOPERM this user has no permissions to access one of the channels used as arguments",
    };

    private static bool KeysAllowed(AclUser user, CommandInfo command, Request request)
    {
        // Malformed numkeys and the like yield no keys; the server then refuses the request itself, as Redis would.
        var keys = command.GetKeys(request);
        int ordinal = 0;
        foreach (int index in keys)
        {
            if (!KeyAllowed(user, request[index], command.KeyAccessOf(request, ordinal))) return false;
            ordinal++;
        }
        return true;
    }

    private static bool KeyAllowed(AclUser user, ReadOnlySpan<byte> key, KeyAccess needs)
    {
        var patterns = user.Keys;
        for (int i = 0; i < patterns.Count; i++)
        {
            var pattern = patterns[i];
            if ((pattern.Grants & needs) == needs && AclGlob.Matches(pattern.Pattern, key)) return true;
        }
        return false;
    }

    private static bool ChannelsAllowed(AclUser user, CommandInfo command, Request request)
    {
        int id = command.Id;
        if (id == Publish || id == SPublish) return ChannelAllowed(user, request[1], literal: false);
        if (id != Subscribe && id != SSubscribe && id != PSubscribe) return true;
        for (int i = 1; i < request.Count; i++)
            if (!ChannelAllowed(user, request[i], literal: id == PSubscribe)) return false;
        return true;
    }

    private static bool ChannelAllowed(AclUser user, ReadOnlySpan<byte> channel, bool literal)
    {
        var patterns = user.Channels;
        for (int i = 0; i < patterns.Count; i++)
        {
            var pattern = patterns[i];
            if (literal ? channel.SequenceEqual(pattern) : AclGlob.Matches(pattern, channel)) return true;
        }
        return false;
    }
}
