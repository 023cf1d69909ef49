using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace QaActors.Data;

/// <summary>
/// A read-only range of a memory-mapped file, exposed as <see cref="Memory{T}"/>. Mappings are never unmapped:
/// they live until the process ends, so no span handed out can ever point at released memory. That is fine
/// because <see cref="DatasetCache"/> maps each cache version once per process (it memoises by path, length
/// and time stamp). Why map instead of read: in a fresh byte[] every 4 KiB page costs a page fault on first
/// touch, and on the project's VMs that is ~0.5 s of CPU for the 55 MB fashion-mnist cache; the file's pages
/// are already in the page cache, so mapping them costs a few tens of milliseconds.
/// </summary>
internal sealed unsafe class MappedBytes : MemoryManager<byte>
{
    private static readonly List<MemoryMappedViewAccessor> Live = [];

    private readonly byte* _start;
    private readonly int _length;

    private MappedBytes(byte* start, int length)
    {
        _start = start;
        _length = length;
    }

    /// <summary>Maps the whole file read-only and returns its base pointer, kept valid for the process lifetime.</summary>
    public static byte* MapWholeFile(FileStream file)
    {
        var map = MemoryMappedFile.CreateFromFile(file, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
        var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        lock (Live) Live.Add(view); // rooted, and AcquirePointer is never released: the view stays mapped
        return p + view.PointerOffset;
    }

    public static Memory<byte> Over(byte* start, int length) => new MappedBytes(start, length).Memory;

    public override Span<byte> GetSpan() => new(_start, _length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        return new MemoryHandle(_start + elementIndex);
    }

    public override void Unpin()
    {
        // Nothing is pinned: the mapping never moves.
    }

    protected override void Dispose(bool disposing)
    {
        // The mapping outlives every MappedBytes on purpose (see the class comment).
    }
}
