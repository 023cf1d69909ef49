namespace QaActors.Data;
