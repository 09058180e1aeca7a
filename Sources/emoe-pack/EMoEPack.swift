import EMoEPackCommands

/// The `emoe-pack` executable: parsing and dispatch live in `EMoEPackCommands`.
@main
enum EMoEPack {
  static func main() {
    EMoEPackCommand.main()
  }
}
