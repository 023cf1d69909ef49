namespace QaActors.Orchestration;
