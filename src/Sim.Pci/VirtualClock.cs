namespace VfioSim.Pci;

/// <summary>
/// Simulated time: nothing happens by itself; time moves when the simulation is told to wait
/// (poll with a timeout, a device's timer), so runs are deterministic and never sleep.
/// Events at the same instant run in the order they were scheduled.
/// </summary>
public sealed class VirtualClock
{
    private readonly PriorityQueue<Action, (long Due, long Seq)> queue = new();
    private long seq;

    /// <summary>Nanoseconds since boot.</summary>
    public long Now { get; private set; }

    public int Pending => queue.Count;

    /// <summary>Runs <paramref name="action"/> when the clock reaches Now + <paramref name="delayNs"/>.</summary>
    public void After(long delayNs, Action action)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(delayNs);
        queue.Enqueue(action, (Now + delayNs, seq++));
    }

    /// <summary>The time of the next scheduled event, or null.</summary>
    public long? NextDue => queue.TryPeek(out _, out var p) ? p.Due : null;

    /// <summary>Advances to <paramref name="time"/>, running every event due by then (events may schedule more).</summary>
    public void RunUntil(long time)
    {
        while (queue.TryPeek(out _, out var p) && p.Due <= time)
        {
            var action = queue.Dequeue();
            Now = Math.Max(Now, p.Due);
            action();
        }
        Now = Math.Max(Now, time);
    }

    /// <summary>Advances by <paramref name="delayNs"/>.</summary>
    public void Advance(long delayNs) => RunUntil(Now + delayNs);

    /// <summary>
    /// Runs events one at a time until <paramref name="done"/> holds or <paramref name="deadline"/> passes;
    /// returns whether it holds. Time stops at the event that satisfied it.
    /// </summary>
    public bool RunUntil(Func<bool> done, long deadline)
    {
        while (!done())
        {
            if (!queue.TryPeek(out _, out var p) || p.Due > deadline)
            {
                Now = Math.Max(Now, deadline);
                return done();
            }
            var action = queue.Dequeue();
            Now = Math.Max(Now, p.Due);
            action();
        }
        return true;
    }
}
