"""Point projects (đề án khuyến công điểm): what a selection becomes, what it funded, what it achieved."""
