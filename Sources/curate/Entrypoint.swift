import CurateCommands

@main
enum Entrypoint {
    static func main() async { await Curate.run() }
}
