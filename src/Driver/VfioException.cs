
namespace VfioSim.Driver;

/// <summary>A failed VFIO call: the errno, the call as a person would write it, and what to do about it.</summary>
public sealed class VfioException(int errno, string call, string? hint = null)
    : Exception($"{call}: {Uapi.Errno.Name(errno)}{(hint is null ? "" : $" — {hint}")}")
{
    /// <summary>The positive errno value.</summary>
    public int Errno { get; } = Math.Abs(errno);
    public string Call { get; } = call;
    public string? Hint { get; } = hint;

    /// <summary>Throws for a negative syscall result; returns the result otherwise.</summary>
    public static long Check(long result, string call, Func<int, string?>? hint = null) =>
        result < 0 ? throw new VfioException((int)-result, call, hint?.Invoke((int)-result)) : result;
}
