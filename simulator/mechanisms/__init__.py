"""Pure decision rules of real systems (HPA/KPA, resilience4j, Flagger, four-fifths, prices), with public inputs."""
