import Engine
import Testing

@Suite("Sizes: one reading for flags and profiles")
struct ByteSizeTests {
    @Test("every unit is a power of 1024, whatever its spelling")
    func units() {
        for text in ["16M", "16MB", "16MiB", "16 MiB", "16mib", " 16m "] { #expect(ByteSize.parse(text) == 16 << 20, "\(text)") }
        #expect(ByteSize.parse("2G") == 2 << 30)
        #expect(ByteSize.parse("1.5K") == 1536)
        #expect(ByteSize.parse("4TiB") == 4 << 40)
        #expect(ByteSize.parse("512B") == 512)
        #expect(ByteSize.parse("8388608") == 8_388_608)
        #expect(ByteSize.parse("-1G") == -(1 << 30), "negative sizes are the caller's to refuse")
    }

    @Test("what is not a size")
    func refusals() {
        for text in ["", "MB", "12X", "1,5G", "G16", "9999999999T", "nan", "inf"] { #expect(ByteSize.parse(text) == nil, "\(text)") }
    }
}
