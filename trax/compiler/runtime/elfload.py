"""Load the relocatable ELF objects of the disk cache without LLVM.

A disk-cache hit only has to place an object's sections in memory, patch
their relocations and find two functions. llvmlite can do that (MCJIT), but
loading its library costs a new process 20-40 ms, more than everything else
a hit does. This loader handles exactly what our code generator emits for
x86-64 Linux (large code model): ``SHF_ALLOC`` sections of type PROGBITS or
NOBITS and ``R_X86_64_64`` / ``PC32`` / ``PLT32`` / ``PC64`` relocations
against symbols of the object or of the process. Anything else raises
:class:`UnsupportedObject` and the caller falls back to llvmlite.

Code goes to read-only executable pages, constants to read-only pages and
writable data to read-write pages of one anonymous mapping, owned by a
:class:`Memory` object: it is unmapped when that object is garbage
collected, so whatever may still call the code must hold it.
"""
import ctypes
import os
import struct
import sys
import threading

__all__ = ["UnsupportedObject", "Memory", "supported", "load", "load_or_llvm", "live"]

_SHT_PROGBITS, _SHT_SYMTAB, _SHT_RELA, _SHT_NOBITS, _SHT_REL = 1, 2, 4, 8, 9
_SHT_X86_64_UNWIND = 0x70000001
_SHF_WRITE, _SHF_ALLOC, _SHF_EXECINSTR = 1, 2, 4
_SHN_UNDEF, _SHN_LORESERVE, _SHN_ABS = 0, 0xFF00, 0xFFF1
_R_64, _R_PC32, _R_PLT32, _R_PC64 = 1, 2, 4, 24
_PROT_READ, _PROT_WRITE, _PROT_EXEC = 1, 2, 4
_MAP_PRIVATE, _MAP_ANONYMOUS = 0x02, 0x20
_PAGE = 4096

_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_SECTION = struct.Struct("<IIQQQQIIQQ")
_SYMBOL = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")


class UnsupportedObject(Exception):
    """The object uses something this loader does not handle, or the process
    may not map it (e.g. a policy against executable anonymous memory)."""


def supported():
    """True on x86-64 Linux, the only target this loader knows."""
    return sys.platform.startswith("linux") and os.uname().machine == "x86_64"


_libc = None


def _c():
    """The C library, with mmap, mprotect and munmap typed."""
    global _libc
    if _libc is None:
        lib = ctypes.CDLL(None)
        lib.mmap.restype = ctypes.c_void_p
        lib.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                             ctypes.c_int, ctypes.c_long]
        lib.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        lib.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        _libc = lib
    return _libc


class Memory:
    """The pages of one loaded object, unmapped when this is collected."""
    __slots__ = ("base", "size")

    def __init__(self, base, size):
        self.base, self.size = base, size
        _count(1)

    def __del__(self):
        if _libc is not None:           # (not at interpreter exit)
            _libc.munmap(self.base, self.size)
            _count(-1)


_live = [0]
_live_lock = threading.Lock()


def _count(n):
    with _live_lock:
        _live[0] += n


def live():
    """How many loaded objects are mapped now."""
    return _live[0]


def _process_symbol(name):
    try:
        return ctypes.cast(getattr(_c(), name), ctypes.c_void_p).value
    except AttributeError:
        return None


def _cstr(table, offset):
    return table[offset:table.index(b"\0", offset)].decode()


def _sections(data):
    ident, e_type, machine, _, _, _, shoff, _, _, _, _, shentsize, shnum, _ = \
        _HEADER.unpack_from(data)
    if ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
        raise UnsupportedObject("not a 64-bit little-endian ELF object")
    if e_type != 1 or machine != 62:
        raise UnsupportedObject(f"ELF type {e_type}, machine {machine}: not x86-64 relocatable")
    if shentsize != _SECTION.size or shoff + shnum * shentsize > len(data):
        raise UnsupportedObject("bad section header table")
    return [_SECTION.unpack_from(data, shoff + i * shentsize) for i in range(shnum)]


def _layout(sections):
    """Offsets of the loaded sections in one mapping: code, then constants,
    then writable data, each part starting on a page."""
    offsets, parts, end = {}, [], 0
    kinds = ((_SHF_EXECINSTR, _PROT_READ | _PROT_EXEC), (0, _PROT_READ),
             (_SHF_WRITE, _PROT_READ | _PROT_WRITE))
    for want, prot in kinds:
        start = end
        for i, (_, typ, flags, _, _, size, _, _, align, _) in enumerate(sections):
            if not flags & _SHF_ALLOC or typ == _SHT_X86_64_UNWIND:
                continue       # unwind tables: nothing unwinds through our code
            if typ not in (_SHT_PROGBITS, _SHT_NOBITS):
                raise UnsupportedObject(f"allocated section of type {typ:#x}")
            kind = flags & (_SHF_EXECINSTR | _SHF_WRITE)
            if kind == _SHF_EXECINSTR | _SHF_WRITE:
                raise UnsupportedObject("writable code section")
            if kind != want:
                continue
            align = max(align, 1)
            end = -(-end // align) * align
            offsets[i] = end
            end += size
        end = -(-end // _PAGE) * _PAGE
        parts.append((start, end - start, prot))
    return offsets, parts, end


def load(data, names, externals):
    """Map the object ``data`` into memory and return ``({name: address}
    for the functions ``names``, its Memory)``: the code stays mapped while
    the Memory is alive. Undefined symbols resolve through ``externals``
    (name -> address), then the process (libc & co.)."""
    data = bytes(data)
    sections = _sections(data)
    offsets, parts, total = _layout(sections)
    total = max(total, _PAGE)
    symtabs = [s for s in sections if s[1] == _SHT_SYMTAB]
    if len(symtabs) != 1:
        raise UnsupportedObject("expected one symbol table")
    if any(s[1] == _SHT_REL for s in sections):
        raise UnsupportedObject("REL relocations")
    base = _c().mmap(None, total, _PROT_READ | _PROT_WRITE, _MAP_PRIVATE | _MAP_ANONYMOUS,
                      -1, 0)
    if base in (None, ctypes.c_void_p(-1).value):
        raise UnsupportedObject("mmap failed")
    memory = Memory(base, total)        # unmapped on failure, when dropped
    return _place(data, sections, symtabs[0], offsets, parts, base, total, names,
                  externals), memory


def load_or_llvm(data, names, externals):
    """:func:`load` where this loader can, else LLVM's (which resolves
    through :mod:`~trax.compiler.runtime.symbols`, like ``externals`` here, and
    keeps the code for the process: then the Memory returned is None)."""
    if supported():
        try:
            return load(data, names, externals)
        except UnsupportedObject:
            pass
    from trax.compiler.runtime import engine
    return engine.load_object(data, names), None


def _place(data, sections, symtab, offsets, parts, base, total, names, externals):
    memory = (ctypes.c_char * total).from_address(base)
    for i, off in offsets.items():
        _, typ, _, _, file_off, size, _, _, _, _ = sections[i]
        if typ == _SHT_PROGBITS:
            if file_off + size > len(data):
                raise UnsupportedObject("section outside the file")
            memory[off:off + size] = data[file_off:file_off + size]
    by_index, by_name = _symbols(data, sections, symtab, offsets, base, externals)
    for rela in sections:
        if rela[1] == _SHT_RELA and rela[7] in offsets:
            _relocate(memory, base, data, rela, offsets[rela[7]], sections[rela[7]][5],
                      by_index)
    for start, size, prot in parts:
        if size and _c().mprotect(base + start, size, prot) != 0:
            raise UnsupportedObject("mprotect failed")
    missing = [n for n in names if by_name.get(n) is None]
    if missing:
        raise UnsupportedObject(f"object does not define {missing}")
    return {n: by_name[n] for n in names}


def _symbols(data, sections, symtab, offsets, base, externals):
    """The address of every symbol by index, and of the global ones by name."""
    _, _, _, _, off, size, link, _, _, _ = symtab
    strtab = sections[link]
    strings = data[strtab[4]:strtab[4] + strtab[5]]
    by_index = []
    by_name = {}
    for k in range(size // _SYMBOL.size):
        st_name, info, _, shndx, value, _ = _SYMBOL.unpack_from(data, off + k * _SYMBOL.size)
        name = _cstr(strings, st_name) if st_name else ""
        if shndx == _SHN_UNDEF:
            addr = None
            if name:
                addr = externals.get(name) or _process_symbol(name)
                if addr is None:
                    raise UnsupportedObject(f"unresolved symbol {name!r}")
        elif shndx == _SHN_ABS:
            addr = value
        elif shndx >= _SHN_LORESERVE:
            raise UnsupportedObject(f"symbol {name!r} in special section {shndx:#x}")
        elif shndx in offsets:
            addr = base + offsets[shndx] + value
        else:
            addr = None       # a section we do not load (e.g. unwind tables)
        by_index.append(addr)
        if name and shndx != _SHN_UNDEF and info >> 4 != 0:     # not local
            by_name[name] = addr
    return by_index, by_name


def _relocate(memory, base, data, rela, where, limit, by_index):
    """Apply one RELA section to its target section, placed ``where`` bytes
    into the mapping at ``base`` and ``limit`` bytes long."""
    _, _, _, _, off, size, _, _, _, _ = rela
    for k in range(size // _RELA.size):
        r_offset, info, addend = _RELA.unpack_from(data, off + k * _RELA.size)
        typ, sym = info & 0xFFFFFFFF, info >> 32
        s = by_index[sym] if sym < len(by_index) else None
        if s is None:
            raise UnsupportedObject(f"relocation against unloaded symbol {sym}")
        width = 8 if typ in (_R_64, _R_PC64) else 4
        if typ not in (_R_64, _R_PC32, _R_PLT32, _R_PC64) or r_offset + width > limit:
            raise UnsupportedObject(f"relocation type {typ} at {r_offset:#x}")
        value = s + addend
        if typ != _R_64:
            value -= base + where + r_offset
        if width == 4:
            if not -2**31 <= value < 2**31:
                raise UnsupportedObject("32-bit relocation out of range")
            struct.pack_into("<i", memory, where + r_offset, value)
        else:
            struct.pack_into("<Q", memory, where + r_offset, value % 2**64)
