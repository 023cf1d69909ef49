namespace QaActors.Learning;
