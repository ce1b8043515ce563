"""What the user describes: the validated scenario model, its sections and the arrival rate it implies."""
