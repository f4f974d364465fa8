using VfioSim.Vfio;

namespace VfioSim.Tests.Unit.Type1;

/// <summary>The AVL tree behind iommu->dma_list: balanced and ordered through inserts and removals in any order.</summary>
public class DmaMappingTreeTests
{
    [Test]
    public void Tree_stays_balanced_and_ordered_through_random_inserts_and_removals()
    {
        var rng = new Random(12345);
        var tree = new DmaMappingTree();
        var p = new Machine(VfioSim.Pci.MachineFiles.MachineLoader.Default()).CreateProcess();
        var live = new List<DmaMapping>();
        var free = Enumerable.Range(0, 2000).Select(i => (ulong)i * 0x2000).OrderBy(_ => rng.Next()).ToList();
        for (int step = 0; step < 6000; step++)
        {
            if (free.Count > 0 && (live.Count == 0 || rng.Next(3) != 0))
            {
                var m = new DmaMapping(free[^1], 0x1000, 0, DmaProt.Read, p, false);
                free.RemoveAt(free.Count - 1);
                tree.Insert(m);
                live.Add(m);
            }
            else
            {
                int i = rng.Next(live.Count);
                tree.Remove(live[i]);
                free.Add(live[i].Iova);
                live.RemoveAt(i);
            }
            if (!tree.IsValid()) Assert.Fail($"tree invalid after step {step}");
        }
        Assert.That(tree.InOrder().Select(m => m.Iova), Is.EqualTo(live.Select(m => m.Iova).Order()));
    }

    [Test]
    public void Insert_and_remove_after_a_remembered_search_keep_the_tree_valid_even_when_it_changed_in_between()
    {
        var rng = new Random(777);
        var tree = new DmaMappingTree();
        var p = new Machine(VfioSim.Pci.MachineFiles.MachineLoader.Default()).CreateProcess();
        var live = new Dictionary<ulong, DmaMapping>();
        for (int step = 0; step < 4000; step++)
        {
            ulong iova = (ulong)rng.Next(500) * 0x1000;
            var found = tree.FindAndRemember(iova, 0x1000);
            if (rng.Next(4) == 0 && live.Count > 0)
            {
                // Change the tree between the search and its use: the remembered path must not be used.
                var other = live.Values.First();
                if (other != found)
                {
                    tree.Remove(other);
                    live.Remove(other.Iova);
                }
            }
            if (found is null)
            {
                var m = new DmaMapping(iova, 0x1000, 0, DmaProt.Read, p, false);
                tree.Insert(m);
                live[iova] = m;
            }
            else if (live.ContainsKey(found.Iova))
            {
                tree.Remove(found);
                live.Remove(found.Iova);
            }
            if (!tree.IsValid()) Assert.Fail($"tree invalid after step {step}");
        }
        Assert.That(tree.InOrder().Select(m => m.Iova), Is.EqualTo(live.Keys.Order()));
    }

    [Test]
    public void Find_first_node_and_next_answer_like_the_kernel_lookups()
    {
        var tree = new DmaMappingTree();
        var p = new Machine(VfioSim.Pci.MachineFiles.MachineLoader.Default()).CreateProcess();
        var a = new DmaMapping(0x1000, 0x2000, 0, DmaProt.Read, p, false);  // [0x1000, 0x3000)
        var b = new DmaMapping(0x5000, 0x1000, 0, DmaProt.Read, p, false);  // [0x5000, 0x6000)
        tree.Insert(b);
        tree.Insert(a);
        Assert.Multiple(() =>
        {
            Assert.That(tree.Find(0x2000, 1), Is.SameAs(a));
            Assert.That(tree.Find(0x3000, 0x2000), Is.Null, "the gap [0x3000, 0x5000)");
            Assert.That(tree.Find(0x4000, 0x2000), Is.SameAs(b));
            Assert.That(tree.Find(0x1000, 0), Is.Null, "size 0 finds a mapping only strictly inside");
            Assert.That(tree.Find(0x1800, 0), Is.SameAs(a));
            Assert.That(tree.FirstNode(0x2000, 0x10000), Is.SameAs(a));
            Assert.That(tree.FirstNode(0x3000, 0x10000), Is.SameAs(b));
            Assert.That(tree.FirstNode(0x3000, 0x1000), Is.Null, "the first mapping above starts past the range");
            Assert.That(tree.Next(a), Is.SameAs(b));
            Assert.That(tree.Next(b), Is.Null);
        });
    }
}
