namespace QaActors.DWave;
