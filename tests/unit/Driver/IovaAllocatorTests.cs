using VfioSim.Driver;
using VfioSim.Uapi;

namespace VfioSim.Tests.Unit.Driver;

public class IovaAllocatorTests
{
    // The ranges QEMU's VT-d reports through GET_INFO (REPORT.md §4): the MSI window is a hole.
    private static readonly IovaRange[] Q35 = [new(0, 0xfedfffff), new(0xfef00000, 0x7fffffffff)];

    [Test]
    public void Allocations_are_page_aligned_and_do_not_overlap()
    {
        var a = new IovaAllocator(Q35);
        ulong x = a.Allocate(100), y = a.Allocate(8192);
        Assert.Multiple(() =>
        {
            Assert.That(x % 4096, Is.Zero);
            Assert.That(y, Is.GreaterThanOrEqualTo(x + 4096));
        });
    }

    [Test]
    public void Allocations_stay_below_the_device_dma_mask()
    {
        var a = new IovaAllocator(Q35, dmaMask: (1UL << 28) - 1); // edu's 28-bit mask
        ulong x = a.Allocate(1 << 20);
        Assert.That(x + (1 << 20) - 1, Is.LessThan(1UL << 28));
    }

    [Test]
    public void An_allocation_never_spans_the_msi_hole()
    {
        var a = new IovaAllocator(Q35, start: 0xfed00000);
        ulong x = a.Allocate(0x200000);
        Assert.That(x, Is.GreaterThanOrEqualTo(0xfef00000UL));
    }

    [Test]
    public void A_freed_range_is_reused()
    {
        var a = new IovaAllocator(Q35);
        ulong x = a.Allocate(4096);
        a.Free(x);
        Assert.That(a.Allocate(4096), Is.EqualTo(x));
    }

    [Test]
    public void Running_out_of_space_is_ENOSPC_with_a_hint()
    {
        var a = new IovaAllocator([new(0x100000, 0x100fff)]);
        a.Allocate(4096);
        var e = Assert.Throws<VfioException>(() => a.Allocate(4096));
        Assert.That(e!.Errno, Is.EqualTo(Errno.ENOSPC));
    }
}

public class VfioExceptionTests
{
    [Test]
    public void The_message_names_the_call_the_errno_and_the_hint()
    {
        var e = new VfioException(Errno.EPERM, "VFIO_GROUP_SET_CONTAINER(group 5)", "0000:0a:00.0 is bound to e1000e");
        Assert.That(e.Message, Is.EqualTo("VFIO_GROUP_SET_CONTAINER(group 5): EPERM — 0000:0a:00.0 is bound to e1000e"));
    }

    [Test]
    public void Check_passes_non_negative_results_through()
    {
        Assert.That(VfioException.Check(3, "open"), Is.EqualTo(3));
    }
}
