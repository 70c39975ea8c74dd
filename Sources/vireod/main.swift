import VireoDaemon

await Vireod.launch()
