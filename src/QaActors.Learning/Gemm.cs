using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace QaActors.Learning;

/// <summary>
/// Blocked single-precision matrix multiply, C (+)= op(A)·op(B), the hot loop of training: the batched hidden
/// pre-activation A = X·W1ᵀ and the gradient outer-product sum dW1 += Dᵀ·X. Goto-style: B is packed into
/// KC×NR panels, A into MR×KC panels, and an MR×NR register tile (8×32 floats: 16 AVX-512 accumulators) is
/// updated by fused multiply-adds.
/// <para>
/// Sparsity: images have many exactly-zero pixels. While packing, each A panel (MR rows) and each B panel (NR
/// columns) records the inner indices p at which it is not entirely zero; the micro-kernel walks the shorter of
/// the two lists. A skipped term is an exact zero product (0·b with b finite), and FMA(0, b, s) = s exactly, so
/// the result is bit-identical to the dense order of summation; only the work shrinks.
/// </para>
/// <para>
/// Threads: when the product is large (≥ 2·10⁷ flops) the rows of C are split into contiguous, MR-aligned ranges,
/// one per core, each computed independently; every element of C is summed in the same order whatever the
/// thread count, so results never depend on it.
/// </para>
/// </summary>
public static unsafe class Gemm
{
    internal const int MR = 8, NR = 32, KC = 256, NC = 576;
    private const double ParallelFlops = 2e7;
    private const int DirectRows = 64;

    /// <summary>Tests set this to exercise the 256-bit kernel on AVX-512 machines.</summary>
    internal static bool ForceVector256;

    /// <summary>
    /// C[m,n] = (accumulate ? C : 0) + Σ_p A(i,p)·B(p,j), all row-major with leading dimensions. A(i,p) is
    /// a[i·lda+p], or a[p·lda+i] when <paramref name="transA"/>; B(p,j) is b[p·ldb+j], or b[j·ldb+p] when
    /// <paramref name="transB"/>. <paramref name="threads"/> ≤ 0 chooses: all cores for large products, one otherwise.
    /// </summary>
    public static void Multiply(int m, int n, int k, ReadOnlySpan<float> a, int lda, bool transA,
        ReadOnlySpan<float> b, int ldb, bool transB, Span<float> c, int ldc, bool accumulate, int threads = 0)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), "matrix sizes must be non-negative");
        if (m == 0 || n == 0) return;
        Need(a.Length, transA ? (long)(k - 1) * lda + m : (long)(m - 1) * lda + k, k, "A");
        Need(b.Length, transB ? (long)(n - 1) * ldb + k : (long)(k - 1) * ldb + n, k, "B");
        Need(c.Length, (long)(m - 1) * ldc + n, 1, "C");
        if ((transA ? lda < m : lda < k) || (transB ? ldb < k : ldb < n) || ldc < n)
            throw new ArgumentException("a leading dimension is smaller than the matrix row length");
        if (k == 0)
        {
            if (!accumulate) for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
            return;
        }
        int panels = (m + MR - 1) / MR;
        if (threads <= 0) threads = 2.0 * m * n * k >= ParallelFlops ? Environment.ProcessorCount : 1;
        threads = Math.Max(1, Math.Min(threads, panels));
        fixed (float* pa = a, pb = b, pc = c)
        {
            if (threads == 1)
            {
                var s = Scratch.Rent();
                try { Serial(0, m, n, k, pa, lda, transA, pb, ldb, transB, pc, ldc, accumulate, s); }
                finally { Scratch.Return(s); }
                return;
            }
            nint ia = (nint)pa, ib = (nint)pb, ic = (nint)pc;
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                int p0 = (int)((long)panels * t / threads), p1 = (int)((long)panels * (t + 1) / threads);
                int r0 = p0 * MR, r1 = Math.Min(m, p1 * MR);
                if (r0 >= r1) return;
                var s = Scratch.Rent();
                try { Serial(r0, r1, n, k, (float*)ia, lda, transA, (float*)ib, ldb, transB, (float*)ic, ldc, accumulate, s); }
                finally { Scratch.Return(s); }
            });
        }
    }

    private static void Need(int have, long need, int k, string name)
    {
        if (k > 0 && have < need) throw new ArgumentException($"matrix {name} holds {have} values but its shape needs {need}");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Serial(int m0, int m1, int n, int k, float* a, int lda, bool transA, float* b, int ldb, bool transB,
        float* c, int ldc, bool accumulate, Scratch s)
    {
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            int nPanels = (nc + NR - 1) / NR;
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                // Few rows of C: packing B would cost as much as the product, so full panels of a row-major B are
                // read in place (stride ldb) and only the ragged last panel is packed (it needs zero padding).
                bool directB = !transB && m1 - m0 < DirectRows;
                PackB(b, ldb, transB, pc, kc, jc, nc, s, directB);
                bool acc = accumulate || pc > 0;
                if (directB)
                {
                    // Few rows: pack every A panel first, then sweep each B panel across all of them while it is
                    // in L1, so B (read in place) streams from memory once per call instead of once per A panel.
                    int panelsA = (m1 - m0 + MR - 1) / MR;
                    for (int ip = 0; ip < panelsA; ip++)
                    {
                        int i0 = m0 + ip * MR;
                        s.ACount[ip] = PackA(a, lda, transA, i0, Math.Min(MR, m1 - i0), pc, kc, s.APack + ip * MR * KC, s.AIdx + ip * KC);
                    }
                    for (int jp = 0; jp < nPanels; jp++)
                        for (int ip = 0; ip < panelsA; ip++)
                        {
                            int i0 = m0 + ip * MR;
                            Tile(s.APack + ip * MR * KC, s.AIdx + ip * KC, s.ACount[ip], i0, Math.Min(MR, m1 - i0), jp, jc, nc, pc, kc, b, ldb, true, c, ldc, acc, s);
                        }
                }
                else
                {
                    for (int i0 = m0; i0 < m1; i0 += MR)
                    {
                        int mv = Math.Min(MR, m1 - i0);
                        int acnt = PackA(a, lda, transA, i0, mv, pc, kc, s.APack, s.AIdx);
                        for (int jp = 0; jp < nPanels; jp++)
                            Tile(s.APack, s.AIdx, acnt, i0, mv, jp, jc, nc, pc, kc, b, ldb, false, c, ldc, acc, s);
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile(float* ap, int* aidx, int acnt, int i0, int mv, int jp, int jc, int nc, int pc, int kc,
        float* b, int ldb, bool directB, float* c, int ldc, bool acc, Scratch s)
    {
        int nv = Math.Min(NR, nc - jp * NR);
        int bcnt = s.BCount[jp];
        int* idx = acnt <= bcnt ? aidx : s.BIdx + jp * KC;
        int cnt = Math.Min(acnt, bcnt);
        bool direct = directB && nv == NR;
        float* bp = direct ? b + (nint)pc * ldb + jc + jp * NR : s.BPack + (nint)jp * KC * NR;
        int bs = direct ? ldb : NR;
        float* cp = c + (nint)i0 * ldc + jc + jp * NR;
        if (Vector512.IsHardwareAccelerated && !ForceVector256)
        {
            if (cnt == kc) Kernel512(ap, bp, bs, new Dense(), cnt, nv, s.Tile);
            else Kernel512(ap, bp, bs, new Sparse(idx), cnt, nv, s.Tile);
        }
        else
        {
            if (cnt == kc) Kernel256(ap, bp, bs, new Dense(), cnt, s.Tile);
            else Kernel256(ap, bp, bs, new Sparse(idx), cnt, s.Tile);
        }
        StoreTile(s.Tile, cp, ldc, mv, nv, acc);
    }

    /// <summary>Packs B(pc..pc+kc, jc..jc+nc) into NR-wide panels (zero padded) and lists each panel's non-zero rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB(float* b, int ldb, bool transB, int pc, int kc, int jc, int nc, Scratch s, bool direct)
    {
        int nPanels = (nc + NR - 1) / NR;
        for (int jp = 0; jp < nPanels; jp++)
        {
            int nv = Math.Min(NR, nc - jp * NR);
            if (direct && nv == NR)
            {
                s.BCount[jp] = kc;
                continue;
            }
            float* dst = s.BPack + (nint)jp * KC * NR;
            if (!transB)
            {
                float* src = b + (nint)pc * ldb + jc + jp * NR;
                for (int p = 0; p < kc; p++)
                {
                    float* row = src + (nint)p * ldb;
                    float* d = dst + p * NR;
                    int cc = 0;
                    for (; cc < nv; cc++) d[cc] = row[cc];
                    for (; cc < NR; cc++) d[cc] = 0f;
                }
            }
            else
            {
                for (int cc = 0; cc < NR; cc++)
                {
                    float* d = dst + cc;
                    if (cc < nv)
                    {
                        float* col = b + (nint)(jc + jp * NR + cc) * ldb + pc;
                        for (int p = 0; p < kc; p++) d[p * NR] = col[p];
                    }
                    else
                    {
                        for (int p = 0; p < kc; p++) d[p * NR] = 0f;
                    }
                }
            }
            int* idx = s.BIdx + jp * KC;
            int cnt = 0;
            for (int p = 0; p < kc; p++)
            {
                var v0 = Vector256.Load(dst + p * NR);
                var v1 = Vector256.Load(dst + p * NR + 8);
                var v2 = Vector256.Load(dst + p * NR + 16);
                var v3 = Vector256.Load(dst + p * NR + 24);
                var any = (v0 | v1 | v2 | v3).AsUInt32() & Vector256.Create(0x7FFFFFFFu);
                idx[cnt] = p;
                cnt += any == Vector256<uint>.Zero ? 0 : 1;
            }
            s.BCount[jp] = cnt;
        }
    }

    /// <summary>Packs A(i0..i0+mv, pc..pc+kc) into one MR-tall panel (zero padded); returns the count of non-zero columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int PackA(float* a, int lda, bool transA, int i0, int mv, int pc, int kc, float* dst, int* idx)
    {
        if (transA)
        {
            for (int p = 0; p < kc; p++)
            {
                float* src = a + (nint)(pc + p) * lda + i0;
                float* d = dst + p * MR;
                int r = 0;
                for (; r < mv; r++) d[r] = src[r];
                for (; r < MR; r++) d[r] = 0f;
            }
        }
        else
        {
            for (int r = 0; r < MR; r++)
            {
                float* d = dst + r;
                if (r < mv)
                {
                    float* src = a + (nint)(i0 + r) * lda + pc;
                    for (int p = 0; p < kc; p++) d[p * MR] = src[p];
                }
                else
                {
                    for (int p = 0; p < kc; p++) d[p * MR] = 0f;
                }
            }
        }
        int cnt = 0;
        for (int p = 0; p < kc; p++)
        {
            var v = Vector256.Load(dst + p * MR).AsUInt32() & Vector256.Create(0x7FFFFFFFu);
            idx[cnt] = p;
            cnt += v == Vector256<uint>.Zero ? 0 : 1;
        }
        return cnt;
    }

    private interface IIndex { int At(int t); }
    private readonly struct Dense : IIndex { [MethodImpl(MethodImplOptions.AggressiveInlining)] public int At(int t) => t; }
    private readonly struct Sparse(int* idx) : IIndex
    {
        private readonly int* _idx = idx;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public int At(int t) => _idx[t];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512<TIdx>(float* ap, float* bp, int bs, TIdx ix, int cnt, int nv, float* tile) where TIdx : struct, IIndex
    {
        if (nv <= 16)
        {
            Kernel512Narrow(ap, bp, bs, ix, cnt, tile);
            return;
        }
        var z = Vector512<float>.Zero;
        Vector512<float> c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        Vector512<float> c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        for (int t = 0; t < cnt; t++)
        {
            int p = ix.At(t);
            float* bb = bp + (nint)p * bs;
            float* aa = ap + p * MR;
            var b0 = Vector512.Load(bb);
            var b1 = Vector512.Load(bb + 16);
            var x = Vector512.Create(aa[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(aa[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(aa[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(aa[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(aa[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(aa[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(aa[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(aa[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
        }
        c00.Store(tile); c01.Store(tile + 16); c10.Store(tile + 32); c11.Store(tile + 48);
        c20.Store(tile + 64); c21.Store(tile + 80); c30.Store(tile + 96); c31.Store(tile + 112);
        c40.Store(tile + 128); c41.Store(tile + 144); c50.Store(tile + 160); c51.Store(tile + 176);
        c60.Store(tile + 192); c61.Store(tile + 208); c70.Store(tile + 224); c71.Store(tile + 240);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512Narrow<TIdx>(float* ap, float* bp, int bs, TIdx ix, int cnt, float* tile) where TIdx : struct, IIndex
    {
        var z = Vector512<float>.Zero;
        Vector512<float> c0 = z, c1 = z, c2 = z, c3 = z, c4 = z, c5 = z, c6 = z, c7 = z;
        for (int t = 0; t < cnt; t++)
        {
            int p = ix.At(t);
            var b0 = Vector512.Load(bp + (nint)p * bs);
            float* aa = ap + p * MR;
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(aa[0]), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(aa[1]), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(aa[2]), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(aa[3]), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(aa[4]), b0, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(aa[5]), b0, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(aa[6]), b0, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(aa[7]), b0, c7);
        }
        c0.Store(tile); c1.Store(tile + 32); c2.Store(tile + 64); c3.Store(tile + 96);
        c4.Store(tile + 128); c5.Store(tile + 160); c6.Store(tile + 192); c7.Store(tile + 224);
    }

    /// <summary>The same tile with 256-bit vectors, as four 4×16 quarter tiles (8 accumulators each, fits 16 ymm registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256<TIdx>(float* ap, float* bp, int bs, TIdx ix, int cnt, float* tile) where TIdx : struct, IIndex
    {
        for (int rh = 0; rh < MR; rh += 4)
        {
            for (int ch = 0; ch < NR; ch += 16)
            {
                var z = Vector256<float>.Zero;
                Vector256<float> c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
                for (int t = 0; t < cnt; t++)
                {
                    int p = ix.At(t);
                    float* bb = bp + (nint)p * bs + ch;
                    float* aa = ap + p * MR + rh;
                    var b0 = Vector256.Load(bb);
                    var b1 = Vector256.Load(bb + 8);
                    var x = Vector256.Create(aa[0]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
                    x = Vector256.Create(aa[1]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
                    x = Vector256.Create(aa[2]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
                    x = Vector256.Create(aa[3]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
                }
                float* o = tile + rh * NR + ch;
                c00.Store(o); c01.Store(o + 8); c10.Store(o + NR); c11.Store(o + NR + 8);
                c20.Store(o + 2 * NR); c21.Store(o + 2 * NR + 8); c30.Store(o + 3 * NR); c31.Store(o + 3 * NR + 8);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StoreTile(float* tile, float* c, int ldc, int mv, int nv, bool acc)
    {
        if (nv == NR && Vector512.IsHardwareAccelerated)
        {
            for (int r = 0; r < mv; r++)
            {
                float* cr = c + (nint)r * ldc;
                var t0 = Vector512.Load(tile + r * NR);
                var t1 = Vector512.Load(tile + r * NR + 16);
                if (acc) { t0 += Vector512.Load(cr); t1 += Vector512.Load(cr + 16); }
                t0.Store(cr); t1.Store(cr + 16);
            }
            return;
        }
        for (int r = 0; r < mv; r++)
        {
            float* cr = c + (nint)r * ldc;
            float* tr = tile + r * NR;
            if (acc) for (int j = 0; j < nv; j++) cr[j] += tr[j];
            else for (int j = 0; j < nv; j++) cr[j] = tr[j];
        }
    }

    /// <summary>Per-thread packing buffers in 64-byte aligned native memory, pooled so the hot loop never allocates.</summary>
    private sealed class Scratch
    {
        private static readonly ConcurrentBag<Scratch> Pool = new();
        public readonly float* APack, BPack, Tile;
        public readonly int* AIdx, ACount, BIdx, BCount;

        private Scratch()
        {
            APack = (float*)NativeMemory.AlignedAlloc((nuint)(DirectRows * KC * sizeof(float)), 64);
            ACount = (int*)NativeMemory.AlignedAlloc((nuint)(DirectRows / MR * sizeof(int)), 64);
            BPack = (float*)NativeMemory.AlignedAlloc((nuint)(KC * NC * sizeof(float)), 64);
            Tile = (float*)NativeMemory.AlignedAlloc((nuint)(MR * NR * sizeof(float)), 64);
            AIdx = (int*)NativeMemory.AlignedAlloc((nuint)(DirectRows / MR * KC * sizeof(int)), 64);
            BIdx = (int*)NativeMemory.AlignedAlloc((nuint)(KC * (NC / NR) * sizeof(int)), 64);
            BCount = (int*)NativeMemory.AlignedAlloc((nuint)((NC / NR) * sizeof(int)), 64);
        }

        ~Scratch()
        {
            NativeMemory.AlignedFree(APack); NativeMemory.AlignedFree(BPack); NativeMemory.AlignedFree(Tile);
            NativeMemory.AlignedFree(AIdx); NativeMemory.AlignedFree(ACount); NativeMemory.AlignedFree(BIdx); NativeMemory.AlignedFree(BCount);
        }

        public static Scratch Rent() => Pool.TryTake(out var s) ? s : new Scratch();
        public static void Return(Scratch s) => Pool.Add(s);
    }
}
