/// glibc's malloc settings for a run: set at start-up, and changed for a load that reads an archive in passes.
enum MallocTuning {
    /// Settings for every run.
    ///
    /// glibc gives threads that allocate their own malloc arenas (up to 8 per core), each keeping freed memory
    /// resident; transfers allocate on many threads (curl's loop, the task pool), so capping them at two keeps a
    /// run's peak RSS about 10 MB lower. Allocations of 192 KiB and more (a blob copy's 256 KiB splice ring) get
    /// their own mappings, returned to the system when freed. By default glibc raises this threshold each time
    /// such a buffer is freed, after which they come from the arenas, whose freed space stays resident: a cold
    /// mirror of the benchmark corpus peaked 2-3 MB higher. (A threshold of 64 KiB, which also maps curl's
    /// 128 KiB buffers, cut 2 MB more but cost 40% more CPU.)
    static func atStart() {
        #if os(Linux)
        _ = mallopt(mallocArenaMax, 2)
        _ = mallopt(mallocMmapThreshold, 192 * 1024)
        #endif
    }

    /// Settings for a load that reads an archive in passes: blobs up to 8 MiB are read into memory while earlier
    /// ones upload, so the run allocates and frees the archive's size in large buffers. With their own mappings
    /// each one's pages are faulted in and zeroed afresh (half of the load's CPU went to the kernel for that:
    /// 0.50 s of system time for the 312 MB of the benchmark corpus); from the arenas, kept by a high trim
    /// threshold, they are reused: 0.19 s, for 3 MB more at the peak.
    static func forArchivePasses() {
        #if os(Linux)
        _ = mallopt(mallocMmapThreshold, 32 << 20)
        _ = mallopt(mallocTrimThreshold, 64 << 20)
        #endif
    }
}

#if os(Linux)
/// glibc's `mallopt` (in <malloc.h>, which the Glibc module does not export).
@_silgen_name("mallopt") private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
/// glibc's `M_TRIM_THRESHOLD`.
private let mallocTrimThreshold: Int32 = -1
/// glibc's `M_MMAP_THRESHOLD`.
private let mallocMmapThreshold: Int32 = -3
/// glibc's `M_ARENA_MAX`.
private let mallocArenaMax: Int32 = -8
#endif
