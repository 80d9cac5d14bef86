namespace Rampart.Proxy.Transport;

/// <summary>
/// The plain bytes of a <see cref="LoopSocket"/> as a <see cref="Stream"/>, for the <see cref="System.Net.Security.SslStream"/>
/// of a TLS connection to read its records from and write them to. Asynchronous only: a synchronous call would block
/// an event loop, so it throws. Disposing it does nothing; the LoopSocket owns the socket.
/// </summary>
internal sealed class LoopSocketStream(LoopSocket socket) : Stream
{
    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        socket.ReceivePlainAsync(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        socket.ReceivePlainAsync(buffer.AsMemory(offset, count)).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        socket.SendPlainAsync(buffer);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        socket.SendPlainAsync(buffer.AsMemory(offset, count)).AsTask();

    // Every write goes to the socket at once: nothing is buffered here.
    public override void Flush() { }
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw Blocking();
    public override void Write(byte[] buffer, int offset, int count) => throw Blocking();
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    private static NotSupportedException Blocking() => new("a LoopSocket is read and written asynchronously only (a blocking call would stall its event loop)");
}
