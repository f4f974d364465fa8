namespace VfioSim.Pci.Models;

/// <summary>How software may access a register or a field (Renode's access modes).</summary>
public enum Access
{
    ReadWrite,
    ReadOnly,
    WriteOnly,
    /// <summary>Write 1 to clear.</summary>
    WriteOneToClear,
    /// <summary>Reads return the value and clear it.</summary>
    ReadToClear,
}

/// <summary>An access the map does not define: offset, width and direction, for strict-mode reports.</summary>
public sealed record UndefinedAccess(string Region, ulong Offset, int Width, bool IsWrite, ulong Value);

/// <summary>
/// A device's MMIO register map, declared rather than switched on (in the spirit of Renode's register DSL):
/// registers with an offset, the access widths that act, fields with access modes and reset values, and
/// read/write callbacks. An access that matches no register reads all-ones and is ignored on write (what an
/// undecoded offset does on most devices); in strict mode it is also reported.
/// </summary>
public sealed class RegisterMap(string name)
{
    private readonly SortedDictionary<ulong, Register> registers = [];
    private readonly Dictionary<ulong, Register> byOffset = []; // the access path looks up here

    public string Name { get; } = name;

    /// <summary>Report every access that no register decodes (in <see cref="Undefined"/>).</summary>
    public bool Strict { get; set; }

    public List<UndefinedAccess> Undefined { get; } = [];

    /// <summary>Raised for each undefined access in strict mode.</summary>
    public event Action<UndefinedAccess>? UndefinedAccessed;

    public IReadOnlyCollection<Register> Registers => registers.Values;

    /// <summary>Declares a register of <paramref name="size"/> bytes (4 or 8) at <paramref name="offset"/>.</summary>
    public Register Define(ulong offset, int size, string registerName)
    {
        if (size is not (1 or 2 or 4 or 8)) throw new ArgumentOutOfRangeException(nameof(size));
        var r = new Register(this, offset, size, registerName);
        registers.Add(offset, r);
        byOffset.Add(offset, r);
        return r;
    }

    public Register Reg32(ulong offset, string registerName) => Define(offset, 4, registerName);
    public Register Reg64(ulong offset, string registerName) => Define(offset, 8, registerName);

    /// <summary>Puts every register back to its reset value.</summary>
    public void Reset()
    {
        foreach (var r in registers.Values) r.ResetValue();
    }

    public Register? Find(ulong offset) => byOffset.GetValueOrDefault(offset);

    /// <summary>A load of <paramref name="width"/> bytes; undecoded accesses read all-ones.</summary>
    public ulong Read(ulong offset, int width)
    {
        if (byOffset.TryGetValue(offset, out var r) && r.Acts(width)) return r.DoRead(width);
        Report(offset, width, false, 0);
        return width == 8 ? ulong.MaxValue : (1UL << (8 * width)) - 1;
    }

    public void Write(ulong offset, int width, ulong value)
    {
        if (byOffset.TryGetValue(offset, out var r) && r.Acts(width)) { r.DoWrite(width, value); return; }
        Report(offset, width, true, value);
    }

    private void Report(ulong offset, int width, bool isWrite, ulong value)
    {
        if (!Strict) return;
        var a = new UndefinedAccess(Name, offset, width, isWrite, value);
        Undefined.Add(a);
        UndefinedAccessed?.Invoke(a);
    }
}

/// <summary>One register: its storage, fields, the widths that act on it and its callbacks.</summary>
public sealed class Register
{
    private readonly RegisterMap map;
    private readonly List<Field> fields = [];
    private Func<ulong>? onRead;
    private Action<ulong>? onWrite;
    private int[] widths;
    private Access access = Access.ReadWrite;
    private ulong resetValue;

    internal Register(RegisterMap map, ulong offset, int size, string name)
    {
        this.map = map;
        Offset = offset;
        Size = size;
        Name = name;
        widths = [size];
    }

    public ulong Offset { get; }
    public int Size { get; }
    public string Name { get; }

    /// <summary>The stored value (for registers without a read callback).</summary>
    public ulong Value { get; set; }

    public IReadOnlyList<Field> Fields => fields;

    private ulong SizeMask => Size == 8 ? ulong.MaxValue : (1UL << (8 * Size)) - 1;

    /// <summary>Which access widths decode this register (default: its own size).</summary>
    public Register Widths(params int[] accepted)
    {
        widths = accepted;
        return this;
    }

    internal bool Acts(int width) => Array.IndexOf(widths, width) >= 0;

    public Register WithReset(ulong value)
    {
        resetValue = value & SizeMask;
        Value = resetValue;
        return this;
    }

    /// <summary>A read-only register holding a constant.</summary>
    public Register ReadOnly(ulong value)
    {
        access = Access.ReadOnly;
        return WithReset(value);
    }

    public Register WriteOnly(Action<ulong> write)
    {
        access = Access.WriteOnly;
        onWrite = write;
        return this;
    }

    /// <summary>Reads come from <paramref name="read"/> instead of the stored value.</summary>
    public Register Read(Func<ulong> read)
    {
        onRead = read;
        return this;
    }

    /// <summary>Writes go to <paramref name="write"/> (after fields are updated) instead of the stored value.</summary>
    public Register Write(Action<ulong> write)
    {
        onWrite = write;
        return this;
    }

    /// <summary>A field of <paramref name="width"/> bits at <paramref name="bit"/> with its access mode and reset value.</summary>
    public Register Field(int bit, int width, string fieldName, Access fieldAccess = Access.ReadWrite, ulong reset = 0)
    {
        var f = new Field(fieldName, bit, width, fieldAccess, reset);
        fields.Add(f);
        resetValue = (resetValue & ~f.Mask) | ((reset << bit) & f.Mask);
        Value = resetValue;
        return this;
    }

    public Register Field(int bit, string fieldName, Access fieldAccess = Access.ReadWrite, bool reset = false) =>
        Field(bit, 1, fieldName, fieldAccess, reset ? 1UL : 0);

    /// <summary>Returns to the map, to declare the next register fluently.</summary>
    public Register Reg32(ulong offset, string registerName) => map.Reg32(offset, registerName);
    public Register Reg64(ulong offset, string registerName) => map.Reg64(offset, registerName);

    public ulong this[string fieldName]
    {
        get
        {
            var f = fields.First(x => x.Name == fieldName);
            return (Value & f.Mask) >> f.Bit;
        }
        set
        {
            var f = fields.First(x => x.Name == fieldName);
            Value = (Value & ~f.Mask) | ((value << f.Bit) & f.Mask);
        }
    }

    internal void ResetValue() => Value = resetValue;

    internal ulong DoRead(int width)
    {
        if (access == Access.WriteOnly) return width == 8 ? ulong.MaxValue : (1UL << (8 * width)) - 1;
        ulong v = onRead is null ? Value : onRead();
        for (int i = 0; i < fields.Count; i++) // a plain loop: this is the MMIO hot path
        {
            var f = fields[i];
            if (f.Access == Access.ReadToClear) Value &= ~f.Mask;
            else if (f.Access == Access.WriteOnly) v &= ~f.Mask;
        }
        return width >= Size ? v & SizeMask : v & ((1UL << (8 * width)) - 1);
    }

    internal void DoWrite(int width, ulong value)
    {
        if (access == Access.ReadOnly) return;
        value &= width == 8 ? ulong.MaxValue : (1UL << (8 * width)) - 1;
        if (fields.Count == 0)
        {
            if (onWrite is not null) onWrite(value);
            else if (access == Access.WriteOneToClear) Value &= ~value;
            else Value = value & SizeMask;
            return;
        }
        ulong v = Value;
        foreach (var f in fields)
        {
            switch (f.Access)
            {
                case Access.ReadWrite or Access.WriteOnly:
                    v = (v & ~f.Mask) | (value & f.Mask);
                    break;
                case Access.WriteOneToClear:
                    v &= ~(value & f.Mask);
                    break;
            }
        }
        Value = v;
        onWrite?.Invoke(value);
    }
}

/// <summary>A bit field of a register.</summary>
public sealed record Field(string Name, int Bit, int Width, Access Access, ulong Reset)
{
    public ulong Mask => (Width == 64 ? ulong.MaxValue : (1UL << Width) - 1) << Bit;
}
