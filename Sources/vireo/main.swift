import VireoCommands

await VireoCommand.launch()
