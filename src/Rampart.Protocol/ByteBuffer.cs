using System.Buffers;
using System.Runtime.CompilerServices;

namespace Rampart.Protocol;

/// <summary>
/// A growable byte buffer on pooled arrays: written bytes accumulate at the end and are consumed from the start.
/// Not thread-safe: one owner at a time. Used for receive buffers, send buffers and per-request payloads.
/// </summary>
/// <remarks>
/// Where arrays come from, by size, so that what a burst of large values leaves in pools stays small:
/// up to <see cref="MaxSharedArray"/> from the shared pool (the common case, lock-free per thread); up to
/// <see cref="MaxPooledArray"/> from a pool of its own that keeps a few of each size; larger ones (a 200 MB value
/// passing through) are allocated for the occasion and dropped when given back. The shared pool keeps up to 32 arrays
/// of each size per core, and trims them only a minute after their last use, so large arrays there would keep the
/// process large long after the values have gone.
/// </remarks>
public sealed class ByteBuffer : IBufferWriter<byte>, IDisposable
{
    /// <summary>The largest array taken from and given back to the shared pool.</summary>
    public const int MaxSharedArray = 64 * 1024;
    /// <summary>The largest array pooled at all.</summary>
    public const int MaxPooledArray = 1024 * 1024;

    private static readonly ArrayPool<byte> LargePool = ArrayPool<byte>.Create(MaxPooledArray, maxArraysPerBucket: 4);

    private byte[] _array;
    private int _start;
    private int _end;
    // The least a buffer that holds no array rents at its first write (see Lazy): 0 for an eager buffer.
    private readonly int _chunk;

    public ByteBuffer(int initialCapacity = 4096) => _array = RentArray(initialCapacity);

    private ByteBuffer(byte[] array, int chunk)
    {
        _array = array;
        _chunk = chunk;
    }

    /// <summary>
    /// A buffer that holds no array until bytes are written, then rents at least <paramref name="chunk"/>; with
    /// <see cref="Release"/> once emptied, it holds an array only while data is in flight.
    /// </summary>
    public static ByteBuffer Lazy(int chunk) => new([], chunk);

    /// <summary>True while the buffer holds a rented array.</summary>
    public bool HoldsArray => _array.Length > 0;

    /// <summary>Gives the array back to the pool when the buffer is empty; the next write rents one again.</summary>
    public void Release()
    {
        if (_end == _start && _array.Length > 0) Dispose();
    }

    /// <summary>Bytes written and not yet consumed.</summary>
    public int Length => _end - _start;
    public int Capacity => _array.Length;
    public ReadOnlySpan<byte> Span => _array.AsSpan(_start, _end - _start);
    public ReadOnlyMemory<byte> Memory => _array.AsMemory(_start, _end - _start);

    public void Clear()
    {
        _start = 0;
        _end = 0;
    }

    /// <summary>Keeps the first <paramref name="length"/> bytes and drops the rest (a held reply replaced by an error).</summary>
    public void Truncate(int length)
    {
        if ((uint)length > (uint)(_end - _start)) throw new ArgumentOutOfRangeException(nameof(length));
        _end = _start + length;
    }

    /// <summary>Drops <paramref name="count"/> bytes from the start.</summary>
    public void Consume(int count)
    {
        _start += count;
        if (_start == _end) Clear();
    }

    public void Advance(int count) => _end += count;

    /// <summary>Free space at the end, at least <paramref name="sizeHint"/> bytes (moving or growing as needed).</summary>
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsMemory(_end);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsSpan(_end);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write(ReadOnlySpan<byte> bytes)
    {
        if (_array.Length - _end < bytes.Length) Ensure(bytes.Length);
        bytes.CopyTo(_array.AsSpan(_end));
        _end += bytes.Length;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteByte(byte b)
    {
        if (_end == _array.Length) Ensure(1);
        _array[_end++] = b;
    }

    private void Ensure(int sizeHint)
    {
        if (sizeHint < 1) sizeHint = 1;
        if (_array.Length - _end >= sizeHint) return;
        int length = _end - _start;
        if (_start > 0 && _array.Length - length >= sizeHint)
        {
            // Enough room once the consumed prefix is reclaimed.
            Buffer.BlockCopy(_array, _start, _array, 0, length);
        }
        else
        {
            long wanted = Math.Max(Math.Max((long)_array.Length * 2, (long)length + sizeHint), _chunk);
            var bigger = RentArray((int)Math.Min(wanted, Array.MaxLength));
            Buffer.BlockCopy(_array, _start, bigger, 0, length);
            ReturnArray(_array);
            _array = bigger;
        }
        _start = 0;
        _end = length;
    }

    /// <summary>Gives a large array back to the pool when the buffer is empty, keeping idle sessions small.</summary>
    public void ShrinkIfEmpty(int keepCapacity)
    {
        if (_end != _start || _array.Length <= keepCapacity) return;
        ReturnArray(_array);
        _array = RentArray(keepCapacity);
        Clear();
    }

    public void Dispose()
    {
        var array = _array;
        _array = [];
        Clear();
        if (array.Length > 0) ReturnArray(array);
    }

    private static byte[] RentArray(int minimumLength) => minimumLength switch
    {
        <= MaxSharedArray => ArrayPool<byte>.Shared.Rent(minimumLength),
        <= MaxPooledArray => LargePool.Rent(minimumLength),
        _ => GC.AllocateUninitializedArray<byte>(minimumLength),
    };

    private static void ReturnArray(byte[] array)
    {
        if (array.Length <= MaxSharedArray) ArrayPool<byte>.Shared.Return(array);
        else if (array.Length <= MaxPooledArray) LargePool.Return(array);
    }
}
