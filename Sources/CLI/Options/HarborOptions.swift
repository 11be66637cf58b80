import ArgumentParser

/// Harbor destinations: projects that do not exist are created before anything is pushed, as Hangar's load does.
struct HarborOptions: ParsableArguments {
    @Flag(name: .long, help: "Create missing Harbor projects as public (default: private).")
    var harborPublicProjects = false

    @Flag(name: .long, help: "Do not create missing Harbor projects (pushes into them then fail).")
    var skipCreateProject = false
}
