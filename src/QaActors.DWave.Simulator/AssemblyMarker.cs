namespace QaActors.DWave.Simulator;
