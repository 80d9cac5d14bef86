using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Security;

namespace Rampart.Proxy.Commands;

/// <summary>
/// ACL subcommands while Rampart's own ACL is configured: it, not the servers, knows the users. WHOAMI, LIST and
/// USERS are answered from the pool's users (LIST shows hashes, never passwords); the ones that would change or
/// reveal users at run time are refused, since Rampart's users come from its configuration only. The permission
/// check has already run (ACL LIST needs a user allowed acl|list, as in Redis). CAT, GENPASS and HELP go on to the
/// servers as before.
/// </summary>
internal static class AclCommands
{
    public static bool Answers(CommandInfo command) => command.Name is "acl|whoami" or "acl|list" or "acl|users"
        or "acl|setuser" or "acl|deluser" or "acl|load" or "acl|save" or "acl|getuser" or "acl|log" or "acl|dryrun";

    public static void Answer(ClientSession session, PoolAcl acl, CommandInfo command)
    {
        var reply = session.BeginLocal();
        var output = reply.Payload;
        switch (command.Name)
        {
            case "acl|whoami":
                RespWriter.Bulk(output, session.AclUser?.NameBytes ?? "default"u8);
                break;
            case "acl|list":
                RespWriter.ArrayHeader(output, acl.Users.Count);
                foreach (var user in acl.Users) RespWriter.Bulk(output, user.Description);
                break;
            case "acl|users":
                RespWriter.ArrayHeader(output, acl.Users.Count);
                foreach (var user in acl.Users.OrderBy(u => u.Name, StringComparer.Ordinal)) RespWriter.Bulk(output, user.NameBytes);
                break;
            default:
                RespWriter.Error(output, $"ERR '{command.DisplayName}' is not supported by rampart: its ACL users come from its configuration (rampart: acl, acl_file); change them there and reload");
                break;
        }
        session.CompleteLocal(reply);
    }
}
