namespace VfioSim.Vfio;

/// <summary>
/// iommu-&gt;dma_list: the mappings of a container ordered by IOVA. They never overlap, so ordering by start orders
/// the ends too and every query is one descent. An AVL tree whose links live in the mappings (as the kernel's
/// rb_node lives in struct vfio_dma): insert, remove, lookups and successor are O(log n) without allocation.
/// </summary>
internal sealed class DmaMappingTree
{
    private DmaMapping? root;

    public int Count { get; private set; }

    /// <summary>
    /// vfio_find_dma(): a mapping overlapping [start, start + size), or null. With size 0 it finds the mapping
    /// that has <paramref name="start"/> strictly inside it (the kernel's comparisons, wrap-around included).
    /// </summary>
    public DmaMapping? Find(ulong start, ulong size)
    {
        var node = root;
        while (node is not null)
        {
            if (start + size <= node.Iova) node = node.Left;
            else if (start >= node.Iova + node.Size) node = node.Right;
            else return node;
        }
        return null;
    }

    /// <summary>
    /// <see cref="Find"/>, remembering the way down: a following <see cref="Insert"/> of a mapping at
    /// <paramref name="start"/> (when nothing was found) or <see cref="Remove"/> of the found mapping reuses it
    /// instead of descending again, unless the tree changed in between.
    /// </summary>
    public DmaMapping? FindAndRemember(ulong start, ulong size)
    {
        int depth = 0;
        var node = root;
        while (node is not null)
        {
            if (start + size <= node.Iova) { path[depth++] = node; node = node.Left; }
            else if (start >= node.Iova + node.Size) { path[depth++] = node; node = node.Right; }
            else break;
        }
        // A range wrapping past 2^64 searches left of everything: that is not where an insert goes.
        remembered = new Remembered(start + size > start ? version : -1, depth, start, node);
        return node;
    }

    /// <summary>
    /// vfio_find_dma_first_node(): the lowest mapping ending above <paramref name="start"/>, or null when there is
    /// none or (size ≠ 0) it starts at or beyond start + size.
    /// </summary>
    public DmaMapping? FirstNode(ulong start, ulong size)
    {
        DmaMapping? res = null;
        var node = root;
        while (node is not null)
        {
            if (start < node.Iova + node.Size)
            {
                res = node;
                if (start >= node.Iova) break;
                node = node.Left;
            }
            else node = node.Right;
        }
        if (res is not null && size != 0 && res.Iova >= start + size) res = null;
        return res;
    }

    /// <summary>rb_first(): the mapping with the lowest IOVA.</summary>
    public DmaMapping? First()
    {
        var node = root;
        while (node?.Left is not null) node = node.Left;
        return node;
    }

    /// <summary>rb_next(): the mapping after <paramref name="dma"/> in IOVA order (valid after dma's removal too).</summary>
    public DmaMapping? Next(DmaMapping dma)
    {
        DmaMapping? res = null;
        var node = root;
        ulong key = dma.Iova;
        while (node is not null)
        {
            if (node.Iova > key)
            {
                res = node;
                node = node.Left;
            }
            else node = node.Right;
        }
        return res;
    }

    /// <summary>In IOVA order; the tree must not change during the walk.</summary>
    public IEnumerable<DmaMapping> InOrder()
    {
        for (var n = First(); n is not null; n = Next(n)) yield return n;
    }

    /// <summary>vfio_link_dma(): the caller has checked that nothing overlaps.</summary>
    public void Insert(DmaMapping dma)
    {
        dma.Left = dma.Right = null;
        dma.Height = 1;
        int depth = 0;
        if (remembered.Version == version && remembered.Found is null && remembered.Start == dma.Iova)
            depth = remembered.Depth; // the search path of a free range is the insert path
        else
            for (var node = root; node is not null; node = dma.Iova < node.Iova ? node.Left : node.Right)
                path[depth++] = node;
        if (depth == 0) root = dma;
        else if (dma.Iova < path[depth - 1].Iova) path[depth - 1].Left = dma;
        else path[depth - 1].Right = dma;
        Retrace(depth);
        Count++;
        version++;
    }

    /// <summary>vfio_unlink_dma().</summary>
    public void Remove(DmaMapping dma)
    {
        int depth = 0;
        if (remembered.Version == version && remembered.Found == dma) depth = remembered.Depth;
        else
        {
            var node = root;
            while (node != dma)
            {
                if (node is null) throw new InvalidOperationException($"mapping {dma} is not in the tree");
                path[depth++] = node;
                node = dma.Iova < node.Iova ? node.Left : node.Right;
            }
        }
        var parent = depth > 0 ? path[depth - 1] : null;
        if (dma.Left is null || dma.Right is null) Replace(parent, dma, dma.Left ?? dma.Right);
        else
        {
            // The successor (leftmost of the right subtree) takes the removed node's place and height.
            int at = depth;
            path[depth++] = dma;
            var s = dma.Right;
            while (s.Left is not null)
            {
                path[depth++] = s;
                s = s.Left;
            }
            var sp = path[depth - 1];
            if (sp == dma) dma.Right = s.Right;
            else sp.Left = s.Right;
            s.Left = dma.Left;
            s.Right = dma.Right;
            s.Height = dma.Height;
            path[at] = s;
            Replace(parent, dma, s);
        }
        Retrace(depth);
        dma.Left = dma.Right = null;
        dma.Height = 1;
        Count--;
        version++;
    }

    public void Clear()
    {
        root = null;
        Count = 0;
        version++;
    }

    // Ancestors of the node being inserted or removed, root first (AVL height stays below 64 for any count).
    private readonly DmaMapping[] path = new DmaMapping[64];

    // Bumped by every change; a remembered search is good only for the version it was made at.
    private long version;
    private Remembered remembered = new(-1, 0, 0, null);

    private readonly record struct Remembered(long Version, int Depth, ulong Start, DmaMapping? Found);

    /// <summary>Rebalances path[depth-1] up to the root, stopping where a subtree's height did not change.</summary>
    private void Retrace(int depth)
    {
        for (int i = depth - 1; i >= 0; i--)
        {
            var n = path[i];
            int oldHeight = n.Height;
            var balanced = Balance(n);
            if (balanced != n) Replace(i > 0 ? path[i - 1] : null, n, balanced);
            if (balanced.Height == oldHeight) break;
        }
    }

    private void Replace(DmaMapping? parent, DmaMapping old, DmaMapping? replacement)
    {
        if (parent is null) root = replacement;
        else if (parent.Left == old) parent.Left = replacement;
        else parent.Right = replacement;
    }

    private static int HeightOf(DmaMapping? n) => n?.Height ?? 0;

    private static void Update(DmaMapping n) => n.Height = Math.Max(HeightOf(n.Left), HeightOf(n.Right)) + 1;

    private static DmaMapping Balance(DmaMapping n)
    {
        Update(n);
        int bf = HeightOf(n.Left) - HeightOf(n.Right);
        if (bf > 1)
        {
            if (HeightOf(n.Left!.Left) < HeightOf(n.Left.Right)) n.Left = RotateLeft(n.Left);
            return RotateRight(n);
        }
        if (bf < -1)
        {
            if (HeightOf(n.Right!.Right) < HeightOf(n.Right.Left)) n.Right = RotateRight(n.Right);
            return RotateLeft(n);
        }
        return n;
    }

    private static DmaMapping RotateRight(DmaMapping n)
    {
        var l = n.Left!;
        n.Left = l.Right;
        l.Right = n;
        Update(n);
        Update(l);
        return l;
    }

    private static DmaMapping RotateLeft(DmaMapping n)
    {
        var r = n.Right!;
        n.Right = r.Left;
        r.Left = n;
        Update(n);
        Update(r);
        return r;
    }

    /// <summary>For tests: the AVL invariants hold and the in-order walk is sorted and disjoint.</summary>
    internal bool IsValid()
    {
        int count = 0;
        bool ok = Check(root, ref count) >= 0 && count == Count;
        DmaMapping? prev = null;
        foreach (var n in InOrder())
        {
            if (prev is not null && prev.Last >= n.Iova) ok = false;
            prev = n;
        }
        return ok;
    }

    private static int Check(DmaMapping? n, ref int count)
    {
        if (n is null) return 0;
        count++;
        int l = Check(n.Left, ref count), r = Check(n.Right, ref count);
        if (l < 0 || r < 0 || Math.Abs(l - r) > 1 || n.Height != Math.Max(l, r) + 1) return -1;
        if ((n.Left is not null && n.Left.Iova >= n.Iova) || (n.Right is not null && n.Right.Iova <= n.Iova)) return -1;
        return n.Height;
    }
}
