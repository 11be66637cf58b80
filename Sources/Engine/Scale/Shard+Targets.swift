extension Shard {
    /// This shard's share of a run: images by their destination reference, unusable list lines by their text
    /// (so each is reported by exactly one shard). Image numbers stay those of the whole list.
    public func select(_ targets: [MirrorTarget], _ errors: [ImageListError]) -> ([MirrorTarget], [ImageListError]) {
        (select(targets) { $0.destination.description }, select(errors) { $0.line })
    }
}
