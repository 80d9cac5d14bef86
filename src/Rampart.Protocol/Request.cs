using System.Runtime.CompilerServices;

namespace Rampart.Protocol;

/// <summary>
/// A view of the request a <see cref="RequestReader"/> just read: its arguments as spans, valid until the buffer
/// they point into is changed. Costs nothing to create or pass.
/// </summary>
public readonly ref struct Request
{
    private readonly RequestReader _reader;
    private readonly ReadOnlySpan<byte> _buffer;

    public Request(RequestReader reader, ReadOnlySpan<byte> buffer)
    {
        _reader = reader;
        _buffer = buffer;
    }

    public int Count => _reader.ArgumentCount;

    public ReadOnlySpan<byte> this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _reader.Argument(_buffer, index);
    }

    /// <summary>Argument 0, the command name, as sent (any case).</summary>
    public ReadOnlySpan<byte> Command => _reader.Argument(_buffer, 0);
}
