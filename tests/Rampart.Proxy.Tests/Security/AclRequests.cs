using System.Text;
using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Security;

namespace Rampart.Proxy.Tests.Security;

/// <summary>Runs <see cref="AclCheck"/> on a request built from strings through the real reader, as a session would.</summary>
internal static class AclRequests
{
    /// <summary>The denial for <paramref name="args"/>, or null when the command is unknown or its arity wrong.</summary>
    public static AclDenial? Check(AclUser user, params string[] args) => Check(user, args, repeat: 1, out _);

    /// <summary>Checks the same parsed request <paramref name="repeat"/> times, reporting the bytes the checks allocated.</summary>
    public static AclDenial? Check(AclUser user, string[] args, int repeat, out long allocated)
    {
        allocated = 0;
        var sb = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        var reader = new RequestReader();
        Assert.Equal(ParseStatus.Complete, reader.TryRead(bytes, out _));
        var request = new Request(reader, bytes);
        var command = CommandTable.Resolve(request);
        if (command is null || !command.ArityAccepts(request.Count)) return null;
        var denial = AclCheck.Check(user, command, request); // warm up: first calls may JIT or initialise statics
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 1; i < repeat; i++) denial = AclCheck.Check(user, command, request);
        allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        return denial;
    }

    public static AclUser User(string line) =>
        AclRuleParser.ParseLine(line, out var error) ?? throw new InvalidOperationException(error);
}
