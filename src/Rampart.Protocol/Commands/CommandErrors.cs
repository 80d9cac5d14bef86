using System.Text;

namespace Rampart.Protocol.Commands;

/// <summary>
/// Redis 7.0's errors for a command it cannot look up (server.c, processCommand), written byte for byte: the client's
/// own bytes are quoted raw, cut where Redis's printf cuts them (at a NUL byte, after 128 bytes), with CR and LF
/// turned into spaces. Built from bytes, never through a .NET string, so that no byte is re-encoded.
/// </summary>
public static class CommandErrors
{
    private const int Shown = 128; // Redis prints each with "%.128s"

    /// <summary>"ERR unknown command 'x', with args beginning with: 'a' 'b' " (the trailing space is Redis's).</summary>
    public static void UnknownCommand(ByteBuffer output, Request request)
    {
        output.Write("-ERR unknown command '"u8);
        RespWriter.ErrorArgument(output, request.Command, Shown);
        output.Write("', with args beginning with: "u8);
        // Redis appends "'%.*s' " while the list is under 128 bytes, each argument cut to what is left of the 128.
        int listed = 0;
        for (int i = 1; i < request.Count && listed < Shown; i++)
        {
            output.WriteByte((byte)'\'');
            listed += RespWriter.ErrorArgument(output, request[i], Shown - listed) + 3;
            output.Write("' "u8);
        }
        output.Write("\r\n"u8);
    }

    /// <summary>"ERR unknown subcommand 'x'. Try CLIENT HELP." for a container command (arg 0) and an unknown arg 1.</summary>
    public static void UnknownSubcommand(ByteBuffer output, Request request)
    {
        output.Write("-ERR unknown subcommand '"u8);
        RespWriter.ErrorArgument(output, request[1], Shown);
        output.Write("'. Try "u8);
        // The container's name as sent, upper-cased (Redis's sdstoupper; it names a known command, so it is ASCII).
        var name = request.Command;
        Ascii.ToUpper(name, output.GetSpan(name.Length), out int written);
        output.Advance(written);
        output.Write(" HELP.\r\n"u8);
    }
}
